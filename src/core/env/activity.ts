import { SandpiperError } from '../errors';
import { httpCode, kubeError, type Kube } from '../kube/client';
import { ANNOTATION_ACTIVITY_REASON, ANNOTATION_LAST_ACTIVITY, LABEL_MANAGED_BY, MANAGED_BY_VALUE } from './metadata';

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
    if (httpCode(err) === 422) throw new SandpiperError('not-ours', `Namespace "${namespace}" is not a Sandpiper environment; its activity is not recorded.`);
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
