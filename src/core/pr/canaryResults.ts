import type { Kube } from '../kube/client';
import { readState } from '../rollout/canaryStore';
import type { CanaryState } from '../rollout/canaryState';
import type { SandpiperSummary } from './body';

type CanarySummary = NonNullable<SandpiperSummary['canary']>;

function lastEventTime(state: CanaryState): number {
  const times = [state.stepStartedAt, state.lastAnalysis?.at, ...state.history.map((h) => h.at)].map((t) => (t ? Date.parse(t) : 0));
  return Math.max(0, ...times.filter((t) => Number.isFinite(t)));
}

export function describeCanary(service: string, state: CanaryState): CanarySummary {
  const verdict = state.lastAnalysis ? `${state.status}, analysis ${state.lastAnalysis.verdict}: ${state.lastAnalysis.summary}` : state.status;
  return { service, verdict: state.reason ? `${verdict} (${state.reason})` : verdict, step: `${Math.min(state.stepIndex + 1, state.steps.length)}/${state.steps.length} (${state.weight}%)` };
}

/**
 * The most recent built-in canary of `services` in `namespaces` (the env, then the baseline), read from the
 * state the rollout feature keeps on the stable Deployment. Best effort: anything unreadable is skipped,
 * a PR never waits on or fails because of the cluster.
 */
export async function latestCanary(kube: Kube, namespaces: string[], services: string[], log?: (m: string) => void, timeoutMs = 5000): Promise<CanarySummary | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => {
      log?.(`No canary results: the cluster did not answer within ${timeoutMs} ms.`);
      resolve(undefined);
    }, timeoutMs);
  });
  try {
    return await Promise.race([readLatest(kube, [...new Set(namespaces)], services, log), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function readLatest(kube: Kube, namespaces: string[], services: string[], log?: (m: string) => void): Promise<CanarySummary | undefined> {
  let best: { at: number; summary: CanarySummary } | undefined;
  for (const namespace of namespaces) {
    for (const service of services) {
      try {
        const { state } = await readState(kube, namespace, service);
        if (!state) continue;
        const at = lastEventTime(state);
        if (!best || at > best.at) best = { at, summary: describeCanary(service, state) };
      } catch (err) {
        log?.(`No canary read for ${namespace}/${service}: ${(err as Error).message}`);
      }
    }
  }
  return best?.summary;
}
