import { liveDriver, type LeaseApi } from './lease';

/** Where `sandpiper controller install` puts the in-cluster canary controller. */
export const CONTROLLER_NAMESPACE = 'sandpiper-system';
export const CONTROLLER_NAME = 'sandpiper-canary-controller';
/**
 * The controller's leader Lease is a CanaryLease keyed "controller" (so named `sandpiper-canary-controller`): the
 * replica holding it drives canaries, and clients take a live one to mean "a controller is installed and running".
 */
export const CONTROLLER_LEASE_KEY = 'controller';

/**
 * The holder (pod name) of the running controller's leader Lease, or undefined when none runs or we may not read
 * it: then the client drives, as without a controller.
 */
export async function liveController(
  kube: LeaseApi,
  namespace = CONTROLLER_NAMESPACE,
  now = new Date(),
): Promise<string | undefined> {
  try {
    return await liveDriver(kube, namespace, CONTROLLER_LEASE_KEY, now);
  } catch {
    return undefined;
  }
}
