import { ApiException, PatchStrategy } from '@kubernetes/client-node';
import { SandpiperError, cancelled } from '../errors';
import { FIELD_MANAGER, kubeError, type Kube } from '../kube/client';
import type { KubeObject } from './clone';

export function describeObject(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  return `${obj.kind} "${obj.metadata?.name}"${ns ? ` in namespace "${ns}"` : ''}`;
}

const FORBIDDEN = /cannot (\w+) resource "([^"]+)" in API group "([^"]*)"(?: in the namespace "([^"]+)"| at the cluster scope)?/;

/** A 403 turned into a message that names the verb, the resource and the namespace, and who was refused. */
export function forbiddenError(err: ApiException<unknown>, doing: string): SandpiperError {
  const body = typeof err.body === 'string' ? safeParse(err.body) : (err.body as { message?: string } | undefined);
  const message = body?.message ?? err.message;
  const m = FORBIDDEN.exec(message);
  const user = /User "([^"]+)"/.exec(message)?.[1];
  if (!m) return new SandpiperError('forbidden', `Forbidden while trying to ${doing}: ${message}`, 'Ask for the missing RBAC permission, or use another context.', message);
  const [, verb, resource, group, namespace] = m;
  // For a Namespace object the apiserver reports its own name as "the namespace".
  const where = !namespace ? 'at the cluster scope' : resource === 'namespaces' ? `named "${namespace}"` : `in namespace "${namespace}"`;
  const res = group ? `${resource}.${group}` : resource;
  return new SandpiperError(
    'forbidden',
    `Forbidden: ${user ? `"${user}"` : 'you'} cannot ${verb} ${res} ${where} (while trying to ${doing}).`,
    `Ask a cluster admin for RBAC permission to ${verb} ${res} ${where}, or use another context.`,
    message,
  );
}

function safeParse(text: string): { message?: string } | undefined {
  try {
    return JSON.parse(text) as { message?: string };
  } catch {
    return { message: text };
  }
}

/** kubeError, except that a 403 names the verb, resource and namespace that were refused. */
export function kubeFailure(err: unknown, doing: string): SandpiperError {
  return err instanceof ApiException && err.code === 403 ? forbiddenError(err, doing) : kubeError(err, doing);
}

/** Server-side apply under our field manager; `force` takes over fields another manager set (we own the env). */
export async function applyObject(kube: Kube, obj: KubeObject, signal?: AbortSignal): Promise<KubeObject> {
  if (signal?.aborted) throw cancelled();
  const doing = `apply ${describeObject(obj)}`;
  try {
    // Managed fields must not be sent with an apply patch; clones have them stripped already.
    return (await kube.objects.patch(obj, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply)) as KubeObject;
  } catch (err) {
    throw kubeFailure(err, doing);
  }
}

export async function applyAll(kube: Kube, objects: KubeObject[], signal?: AbortSignal): Promise<KubeObject[]> {
  // Config first so workloads that mount it do not start without it.
  const order = (o: KubeObject) => (['ConfigMap', 'Secret', 'ServiceAccount'].includes(o.kind ?? '') ? 0 : o.kind === 'Service' ? 1 : 2);
  const sorted = [...objects].sort((a, b) => order(a) - order(b));
  const applied: KubeObject[] = [];
  for (const group of [0, 1, 2]) {
    const batch = sorted.filter((o) => order(o) === group);
    applied.push(...(await Promise.all(batch.map((o) => applyObject(kube, o, signal)))));
  }
  return applied;
}
