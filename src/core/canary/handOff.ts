import { SandpiperError, cancelled, sleep } from '../errors';
import type { LeaseApi } from './lease';
import { liveController } from './presence';
import { TERMINAL, readState, type CanaryHistoryEntry, type CanaryState, type StateApi } from './state';

/** Who drives a canary a client starts: `auto` hands it to the in-cluster controller when one runs. */
export type DriverChoice = 'auto' | 'controller' | 'client';
export const DRIVER_CHOICES: readonly DriverChoice[] = ['auto', 'controller', 'client'];

export interface DriverPick {
  driver: 'controller' | 'client';
  /** The controller replica (pod) holding its leader Lease, when the controller drives. */
  controller?: string;
}

/** Said once before a client drives: it must keep running, and how to do without that. */
export const CLIENT_DRIVER_NOTICE =
  'No canary controller runs in the cluster: this CLI drives the rollout, and stopping it pauses it. ' +
  '`sandpiper controller install` lets rollouts run on their own.';

export function noControllerError(): SandpiperError {
  return new SandpiperError(
    'no-controller',
    'No canary controller runs in the cluster, so nothing would drive the canary.',
    'Install it with `sandpiper controller install`, or let this client drive it (--driver client or auto).',
  );
}

/**
 * Picks the driver: `auto` is the controller when its leader Lease is live, else this client; `controller`
 * without a live one is refused before anything is built or written.
 */
export async function chooseDriver(
  kube: LeaseApi,
  choice: DriverChoice,
  findController: (kube: LeaseApi) => Promise<string | undefined> = liveController,
): Promise<DriverPick> {
  if (choice === 'client') return { driver: 'client' };
  const controller = await findController(kube);
  if (controller) return { driver: 'controller', controller };
  if (choice === 'controller') throw noControllerError();
  return { driver: 'client' };
}

export type FollowEvent =
  | { kind: 'history'; entry: CanaryHistoryEntry; state: CanaryState }
  | { kind: 'analysis'; analysis: NonNullable<CanaryState['lastAnalysis']>; state: CanaryState }
  | { kind: 'unreadable'; error: unknown };

export interface FollowOptions {
  kube: StateApi;
  namespace: string;
  deployment: string;
  /** The state already shown (e.g. what startCanary returned): its history is not repeated. */
  since?: CanaryState;
  pollMs?: number;
  signal?: AbortSignal;
  onEvent: (e: FollowEvent) => void;
}

function entryKey(e: CanaryHistoryEntry): string {
  return `${e.at}\u0000${e.event}\u0000${e.detail ?? ''}`;
}

/**
 * Follows a canary someone else drives by reading its annotation every second (a read is cheap and survives an
 * API server restart, where a watch would need re-establishing): reports each new history line and analysis,
 * resolves with the terminal state. A failed read is reported and retried; the signal ends it with a cancellation.
 */
export async function followCanary(o: FollowOptions): Promise<CanaryState> {
  const seen = new Set((o.since?.history ?? []).map(entryKey));
  let analysisAt = o.since?.lastAnalysis?.at;
  let unreadable = false;
  for (;;) {
    if (o.signal?.aborted) throw cancelled();
    let state: CanaryState | undefined;
    try {
      state = (await readState(o.kube, o.namespace, o.deployment)).state;
      unreadable = false;
    } catch (err) {
      if (!unreadable) o.onEvent({ kind: 'unreadable', error: err });
      unreadable = true;
    }
    if (state) {
      for (const entry of state.history) {
        const key = entryKey(entry);
        if (seen.has(key)) continue;
        seen.add(key);
        o.onEvent({ kind: 'history', entry, state });
      }
      if (state.lastAnalysis && state.lastAnalysis.at !== analysisAt) {
        analysisAt = state.lastAnalysis.at;
        o.onEvent({ kind: 'analysis', analysis: state.lastAnalysis, state });
      }
      if (TERMINAL.has(state.status)) return state;
    } else if (!unreadable) {
      throw new SandpiperError(
        'no-canary',
        `The canary state of ${o.deployment} was removed while following it.`,
        `Look at the Deployment: \`sandpiper rollout status ${o.deployment}\`.`,
      );
    }
    await sleep(o.pollMs ?? 1000, o.signal);
  }
}
