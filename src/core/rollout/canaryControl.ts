import { SandpiperError } from '../errors';
import type { Kube } from '../kube/client';
import { TERMINAL, withEvent, type CanaryState } from './canaryState';
import { readState, updateState } from './canaryStore';
import { finishAbort, finishPromote } from './builtinCanary';

/** Manual overrides of a built-in canary, usable at any step from the panel, the palette or the CLI. */
export type CanaryOverride = 'promote' | 'abort' | 'pause' | 'resume';

function active(state: CanaryState | undefined, deployment: string): CanaryState {
  if (!state || TERMINAL.has(state.status)) {
    throw new SandpiperError('no-canary', `Deployment ${deployment} has no canary in progress.`, 'Start one with "Sandpiper: Start Canary Rollout" or `sandpiper rollout start`.');
  }
  return state;
}

/**
 * Records the override on the annotation (optimistic concurrency), then does the promote/abort work itself.
 * A driver elsewhere sees the new status on its next read and stops stepping.
 */
export async function overrideCanary(kube: Kube, namespace: string, deployment: string, action: CanaryOverride, signal?: AbortSignal, by = 'user'): Promise<CanaryState> {
  const now = new Date();
  const next = await updateState(kube, namespace, deployment, (cur) => {
    const s = active(cur, deployment);
    switch (action) {
      case 'promote':
        return withEvent({ ...s, status: 'promoting', reason: `promoted by ${by}` }, now, 'promote-requested', by);
      case 'abort':
        return withEvent({ ...s, status: 'aborting', reason: `aborted by ${by}` }, now, 'abort-requested', by);
      case 'pause':
        if (s.status !== 'progressing') throw new SandpiperError('canary-state', `The canary is ${s.status}; only a progressing canary pauses.`);
        return withEvent({ ...s, status: 'paused' }, now, 'paused', by);
      case 'resume':
        if (s.status !== 'paused') throw new SandpiperError('canary-state', `The canary is ${s.status}; only a paused canary resumes.`);
        // The step's interval starts again: the metrics while paused do not count.
        return withEvent({ ...s, status: 'progressing', stepStartedAt: now.toISOString() }, now, 'resumed', by);
    }
  });
  const state = next!;
  if (action === 'promote') return finishPromote(kube, namespace, deployment, state, signal);
  if (action === 'abort') return finishAbort(kube, namespace, deployment, state);
  return state;
}

export async function canaryState(kube: Kube, namespace: string, deployment: string): Promise<CanaryState | undefined> {
  return (await readState(kube, namespace, deployment)).state;
}
