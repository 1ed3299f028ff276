import { Watch } from '@kubernetes/client-node';
import { SandpiperError, cancelled } from '../errors';
import { kubeError, type Kube } from '../kube/client';

export type WatchVerdict<T> = { done: true; value: T } | { done: false };

/**
 * Watches `path` until `decide` returns a verdict or throws; a closed watch is reopened (the first
 * events of a watch replay the current objects, so no separate list is needed). Ends on abort.
 */
export function watchUntil<T>(
  kube: Kube,
  path: string,
  query: Record<string, string>,
  decide: (type: string, obj: unknown) => WatchVerdict<T>,
  signal?: AbortSignal,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled());
    const watch = new Watch(kube.config);
    let current: AbortController | undefined;
    let settled = false;
    let failures = 0;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      current?.abort();
      fn();
    };
    const onAbort = () => finish(() => reject(cancelled()));
    signal?.addEventListener('abort', onAbort, { once: true });
    const open = () => {
      if (settled) return;
      watch
        .watch(path, { ...query, allowWatchBookmarks: 'false' }, (type, obj) => {
          if (settled) return;
          failures = 0;
          try {
            const verdict = decide(type, obj);
            if (verdict.done) finish(() => resolve(verdict.value));
          } catch (err) {
            finish(() => reject(err));
          }
        }, (err) => {
          if (settled) return;
          if (err && (++failures > 3 || isFatal(err))) return finish(() => reject(kubeError(err, `watch ${path}`)));
          setTimeout(open, err ? 500 * failures : 0);
        })
        .then((controller) => {
          current = controller;
          if (settled) controller.abort();
        })
        .catch((err) => finish(() => reject(err instanceof SandpiperError ? err : kubeError(err, `watch ${path}`))));
    };
    open();
  });
}

function isFatal(err: unknown): boolean {
  const code = (err as { statusCode?: number; code?: number })?.statusCode ?? (err as { code?: number })?.code;
  return code === 401 || code === 403 || code === 404;
}
