import type { V1Namespace } from '@kubernetes/client-node';
import { kubeError, type Kube } from '../kube/client';
import { deleteEnvironment } from './lifecycle';
import { MANAGED_SELECTOR, expiryOf, isManaged } from './metadata';

export interface JanitorDecision {
  name: string;
  uid?: string;
  resourceVersion?: string;
  action: 'delete' | 'keep';
  reason: string;
  expiresAt?: string;
}

/**
 * Decides, for each namespace, whether the janitor may delete it: only when it carries the managed-by
 * label AND a readable TTL and last activity that together lie in the past. Anything else is kept:
 * a foreign namespace, a tampered or missing annotation, or one already being deleted.
 */
export function janitorDecisions(namespaces: V1Namespace[], now: Date): JanitorDecision[] {
  return namespaces.map((ns) => {
    const name = ns.metadata?.name ?? '';
    const uid = ns.metadata?.uid;
    const resourceVersion = ns.metadata?.resourceVersion;
    if (!isManaged(ns)) return { name, uid, action: 'keep', reason: 'not managed by Sandpiper' };
    if (ns.metadata?.deletionTimestamp) return { name, uid, action: 'keep', reason: 'already being deleted' };
    const expiry = expiryOf(ns.metadata?.annotations);
    if (!expiry) return { name, uid, action: 'keep', reason: 'no readable TTL or last activity' };
    if (expiry.getTime() > now.getTime()) return { name, uid, action: 'keep', reason: 'not expired', expiresAt: expiry.toISOString() };
    return { name, uid, resourceVersion, action: 'delete', reason: 'expired', expiresAt: expiry.toISOString() };
  });
}

export interface JanitorResult {
  decisions: JanitorDecision[];
  deleted: string[];
  errors: Array<{ name: string; message: string }>;
}

/** Lists Sandpiper namespaces and deletes the expired ones (none with dryRun). */
export async function runJanitor(kube: Kube, opts: { dryRun?: boolean; now?: Date } = {}): Promise<JanitorResult> {
  let items: V1Namespace[];
  try {
    // The label selector narrows the list; janitorDecisions checks the label again on every item.
    items = (await kube.core.listNamespace({ labelSelector: MANAGED_SELECTOR })).items;
  } catch (err) {
    throw kubeError(err, 'list namespaces for the janitor');
  }
  const decisions = janitorDecisions(items, opts.now ?? new Date());
  const result: JanitorResult = { decisions, deleted: [], errors: [] };
  if (opts.dryRun) return result;
  for (const d of decisions.filter((x) => x.action === 'delete')) {
    try {
      // Preconditions: a namespace re-created, or touched (activity, extend) since the list, is not deleted on stale facts.
      if (await deleteEnvironment(kube, d.name, { uid: d.uid, resourceVersion: d.resourceVersion })) result.deleted.push(d.name);
    } catch (err) {
      result.errors.push({ name: d.name, message: (err as Error).message });
    }
  }
  return result;
}
