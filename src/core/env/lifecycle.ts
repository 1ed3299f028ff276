import type { V1Namespace } from '@kubernetes/client-node';
import { mergePatch } from '../kube/patch';
import { formatDuration } from '../config/duration';
import { SandpiperError } from '../errors';
import { httpCode, kubeError, type Kube } from '../kube/client';
import { ANNOTATION_LAST_ACTIVITY, ANNOTATION_TTL, MANAGED_SELECTOR, environmentInfo, expiryOf, isManaged, type EnvironmentInfo } from './metadata';
import { watchUntil } from './watch';

export async function listEnvironments(kube: Kube): Promise<EnvironmentInfo[]> {
  try {
    const list = await kube.core.listNamespace({ labelSelector: MANAGED_SELECTOR });
    return list.items.filter(isManaged).map(environmentInfo).sort((a, b) => a.name.localeCompare(b.name));
  } catch (err) {
    throw kubeError(err, 'list the Sandpiper environments');
  }
}

/** Reads a namespace and refuses it unless Sandpiper made it: no command of ours touches foreign namespaces. */
export async function readEnvironment(kube: Kube, name: string): Promise<V1Namespace> {
  let ns: V1Namespace;
  try {
    ns = await kube.core.readNamespace({ name });
  } catch (err) {
    if (httpCode(err) === 404) throw new SandpiperError('not-found', `There is no environment "${name}".`, 'List them with `sandpiper env list`.');
    throw kubeError(err, `read namespace "${name}"`);
  }
  if (!isManaged(ns)) throw new SandpiperError('not-ours', `Namespace "${name}" is not a Sandpiper environment; Sandpiper leaves it alone.`, 'Only namespaces labelled app.kubernetes.io/managed-by=sandpiper can be changed or deleted.');
  return ns;
}

export interface DeleteOptions {
  /** Wait until the namespace is gone (its finalizers ran). */
  wait?: boolean;
  signal?: AbortSignal;
  /** Delete only if the namespace is still this exact object (the janitor passes what it judged). */
  uid?: string;
  resourceVersion?: string;
}

/** Deletes an environment namespace (and so everything in it); refuses namespaces Sandpiper does not own. */
export async function deleteEnvironment(kube: Kube, name: string, opts: DeleteOptions = {}): Promise<boolean> {
  let ns: V1Namespace;
  try {
    ns = await readEnvironment(kube, name);
  } catch (err) {
    if (err instanceof SandpiperError && err.code === 'not-found') return false;
    throw err;
  }
  const uid = opts.uid ?? ns.metadata?.uid;
  try {
    await kube.core.deleteNamespace({ name, propagationPolicy: 'Background', body: { preconditions: { uid, resourceVersion: opts.resourceVersion } } });
  } catch (err) {
    if (httpCode(err) === 404) return false;
    throw kubeError(err, `delete namespace "${name}"`);
  }
  if (opts.wait) await waitUntilGone(kube, name, opts.signal);
  return true;
}

/** Lists, then watches from the list's resourceVersion, so a deletion between the two is not missed. */
async function waitUntilGone(kube: Kube, name: string, signal?: AbortSignal): Promise<void> {
  const fieldSelector = `metadata.name=${name}`;
  const list = await kube.core.listNamespace({ fieldSelector }).catch((err: unknown) => {
    throw kubeError(err, `watch namespace "${name}" go away`);
  });
  if (!list.items.length) return;
  const resourceVersion = list.metadata?.resourceVersion ?? '';
  await watchUntil(kube, '/api/v1/namespaces', { fieldSelector, resourceVersion }, (type) => (type === 'DELETED' ? { done: true, value: undefined } : { done: false }), signal);
}

/** Pushes expiry out: activity is "now" and the TTL grows by `byMs` beyond what was left. */
export async function extendEnvironment(kube: Kube, name: string, byMs: number, now = new Date()): Promise<EnvironmentInfo> {
  const ns = await readEnvironment(kube, name);
  const expiry = expiryOf(ns.metadata?.annotations);
  const left = expiry ? Math.max(0, expiry.getTime() - now.getTime()) : 0;
  const ttl = Math.ceil((left + byMs) / 1000) * 1000;
  try {
    const patched = await kube.core.patchNamespace(
      { name, body: { metadata: { annotations: { [ANNOTATION_TTL]: formatDuration(ttl), [ANNOTATION_LAST_ACTIVITY]: now.toISOString() } } } },
      mergePatch(),
    );
    return environmentInfo(patched);
  } catch (err) {
    throw kubeError(err, `extend environment "${name}"`);
  }
}
