import { Watch } from '@kubernetes/client-node';
import type { Disposable } from '../disposable';
import type { Kube } from '../kube/client';
import { MANAGED_SELECTOR } from './metadata';

/**
 * Calls `onChange` whenever a Sandpiper namespace is added, changed or removed; reopens the watch
 * when the server closes it (with a growing pause while it keeps failing). Dispose to stop.
 */
export function watchEnvironments(kube: Kube, onChange: () => void, onError: (err: unknown) => void = () => undefined): Disposable {
  const watch = new Watch(kube.config);
  let controller: AbortController | undefined;
  let stopped = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  const open = () => {
    if (stopped) return;
    watch
      .watch('/api/v1/namespaces', { labelSelector: MANAGED_SELECTOR }, () => {
        failures = 0;
        onChange();
      }, (err) => {
        if (stopped) return;
        if (err) {
          failures++;
          onError(err);
        }
        timer = setTimeout(open, Math.min(30_000, err ? 1000 * 2 ** failures : 0));
      })
      .then((c) => {
        controller = c;
        if (stopped) c.abort();
      })
      .catch((err) => {
        failures++;
        onError(err);
        if (!stopped) timer = setTimeout(open, Math.min(30_000, 1000 * 2 ** failures));
      });
  };
  open();
  return {
    dispose() {
      stopped = true;
      clearTimeout(timer);
      controller?.abort();
    },
  };
}
