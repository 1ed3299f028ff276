import type { V1Namespace } from '@kubernetes/client-node';
import { mergePatch, type Kube } from '../infra/kube/client';
import { httpCode, kubeError } from '../infra/kube/errors';
import { formatDuration } from '../config/types';
import { SandpiperError } from '../errors';
import {
  ANNOTATION_LAST_ACTIVITY,
  ANNOTATION_TTL,
  MANAGED_SELECTOR,
  environmentInfo,
  expiryOf,
  isManaged,
  type EnvironmentInfo,
  ANNOTATION_ACTIVITY_REASON,
  LABEL_MANAGED_BY,
  MANAGED_BY_VALUE,
} from './metadata';
import { ListWatcher, apiSource, listed, watchUntil, type ListWatchSource } from '../infra/kube/watch';
import type { Disposable } from '../disposable';

export async function listEnvironments(kube: Kube): Promise<EnvironmentInfo[]> {
  try {
    const list = await kube.core.listNamespace({ labelSelector: MANAGED_SELECTOR });
    return list.items
      .filter(isManaged)
      .map(environmentInfo)
      .sort((a, b) => a.name.localeCompare(b.name));
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
    if (httpCode(err) === 404)
      throw new SandpiperError(
        'not-found',
        `There is no environment "${name}".`,
        'List them with `sandpiper env list`.',
      );
    throw kubeError(err, `read namespace "${name}"`);
  }
  if (!isManaged(ns))
    throw new SandpiperError(
      'not-ours',
      `Namespace "${name}" is not a Sandpiper environment; Sandpiper leaves it alone.`,
      'Only namespaces labelled app.kubernetes.io/managed-by=sandpiper can be changed or deleted.',
    );
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
    await kube.core.deleteNamespace({
      name,
      propagationPolicy: 'Background',
      body: { preconditions: { uid, resourceVersion: opts.resourceVersion } },
    });
  } catch (err) {
    if (httpCode(err) === 404) return false;
    throw kubeError(err, `delete namespace "${name}"`);
  }
  if (opts.wait) await waitUntilGone(kube, name, opts.signal);
  return true;
}

/** Namespaces (of a label or field selector), listed and watched through client-node. */
export function namespaceSource(
  kube: Kube,
  query: { labelSelector?: string; fieldSelector?: string },
  doing: string,
): ListWatchSource<V1Namespace> {
  return apiSource(kube.config, {
    path: '/api/v1/namespaces',
    query,
    list: async () => {
      try {
        return listed(await kube.core.listNamespace(query));
      } catch (err) {
        throw kubeError(err, doing);
      }
    },
  });
}

/** Lists, then watches from the list's resourceVersion, so a deletion between the two is not missed. */
async function waitUntilGone(kube: Kube, name: string, signal?: AbortSignal): Promise<void> {
  const what = `namespace "${name}" go away`;
  const source = namespaceSource(kube, { fieldSelector: `metadata.name=${name}` }, `watch ${what}`);
  const gone = { done: true, value: undefined } as const;
  await watchUntil(source, what, (type) => (type === 'DELETED' ? gone : { done: false }), {
    signal,
    whenNone: () => gone,
  });
}

/** Pushes expiry out: activity is "now" and the TTL grows by `byMs` beyond what was left. */
export async function extendEnvironment(
  kube: Kube,
  name: string,
  byMs: number,
  now = new Date(),
): Promise<EnvironmentInfo> {
  const ns = await readEnvironment(kube, name);
  const expiry = expiryOf(ns.metadata?.annotations);
  const left = expiry ? Math.max(0, expiry.getTime() - now.getTime()) : 0;
  const ttl = Math.ceil((left + byMs) / 1000) * 1000;
  try {
    const patched = await kube.core.patchNamespace(
      {
        name,
        body: {
          metadata: {
            annotations: { [ANNOTATION_TTL]: formatDuration(ttl), [ANNOTATION_LAST_ACTIVITY]: now.toISOString() },
          },
        },
      },
      mergePatch(),
    );
    return environmentInfo(patched);
  } catch (err) {
    throw kubeError(err, `extend environment "${name}"`);
  }
}

/**
 * Marks an environment as used now, so the janitor leaves it alone. Only Sandpiper namespaces are
 * touched: the patch carries a test of the managed-by label (a JSON Patch `test` op fails otherwise).
 */
export async function recordActivity(kube: Kube, namespace: string, reason: string, now = new Date()): Promise<void> {
  try {
    await kube.core.patchNamespace({
      name: namespace,
      body: [
        { op: 'test', path: `/metadata/labels/${escape(LABEL_MANAGED_BY)}`, value: MANAGED_BY_VALUE },
        { op: 'add', path: `/metadata/annotations/${escape(ANNOTATION_LAST_ACTIVITY)}`, value: now.toISOString() },
        { op: 'add', path: `/metadata/annotations/${escape(ANNOTATION_ACTIVITY_REASON)}`, value: reason.slice(0, 100) },
      ],
    });
  } catch (err) {
    if (httpCode(err) === 422)
      throw new SandpiperError(
        'not-ours',
        `Namespace "${namespace}" is not a Sandpiper environment; its activity is not recorded.`,
      );
    throw kubeError(err, `record activity on "${namespace}"`);
  }
}

function escape(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Records activity at most once per interval per namespace; calls in between are dropped (they add nothing). */
export class ActivityRecorder {
  private readonly last = new Map<string, number>();

  constructor(
    /** Sends the patch; in the product this is `recordActivity` on the current cluster. */
    private readonly send: (namespace: string, reason: string, at: Date) => Promise<void>,
    private readonly intervalMs = 60_000,
    private readonly clock: () => number = Date.now,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  /** Returns whether a patch was sent. */
  async record(namespace: string, reason: string): Promise<boolean> {
    const now = this.clock();
    const previous = this.last.get(namespace);
    if (previous !== undefined && now - previous < this.intervalMs) return false;
    this.last.set(namespace, now);
    try {
      await this.send(namespace, reason, new Date(now));
      return true;
    } catch (err) {
      this.last.delete(namespace);
      this.onError(err);
      return false;
    }
  }
}

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
    if (expiry.getTime() > now.getTime())
      return { name, uid, action: 'keep', reason: 'not expired', expiresAt: expiry.toISOString() };
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
      if (await deleteEnvironment(kube, d.name, { uid: d.uid, resourceVersion: d.resourceVersion }))
        result.deleted.push(d.name);
    } catch (err) {
      result.errors.push({ name: d.name, message: (err as Error).message });
    }
  }
  return result;
}

/**
 * Calls `onChange` whenever a Sandpiper namespace is added, changed or removed (a relist after a gap
 * included); the one list+watch reconnects and backs off while it keeps failing. Dispose to stop.
 */
export function watchEnvironments(
  kube: Kube,
  onChange: () => void,
  onError: (err: unknown) => void = () => undefined,
): Disposable {
  const source = namespaceSource(kube, { labelSelector: MANAGED_SELECTOR }, 'list the Sandpiper environments');
  const watcher = new ListWatcher(source, { onChanges: () => onChange(), onError });
  // A failed first list is reported; the watcher keeps trying until disposed.
  watcher.start().catch(onError);
  return { dispose: () => watcher.stop() };
}
