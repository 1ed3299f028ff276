// A Deployment `web` mid-canary on the fake workloads, in either traffic mode, and a Prometheus stand-in whose
// answers the test switches (healthy canary, failing canary, Prometheus down).
import type { V1Deployment } from '@kubernetes/client-node';
import type { CanaryConfig } from '../../../src/core/config/types';
import type { MetricsSource } from '../../../src/core/infra/prometheus';
import {
  CANARY_STATE_ANNOTATION,
  TRACK_LABEL,
  readCanaryState,
  writeCanaryState,
  type CanaryState,
} from '../../../src/core/canary/state';
import { GATEWAY } from '../../../src/core/canary/traffic';
import { SandpiperError } from '../../../src/core/errors';
import type { Kube } from '../../../src/core/infra/kube/client';
import { FakeWorkloads } from './fakeWorkloads';

export const analysis = (o: Partial<CanaryConfig['analysis']> = {}): CanaryConfig['analysis'] => ({
  failureLimit: 0,
  queries: [],
  successRate: { op: '>=', value: 0.95 },
  ...o,
});

export function canaryState(o: Partial<CanaryState> = {}): CanaryState {
  return {
    version: 1,
    status: 'progressing',
    image: 'web:2',
    container: 'app',
    steps: [50, 100],
    stepIndex: 0,
    weight: 50,
    intervalMs: 600_000,
    stepStartedAt: new Date().toISOString(),
    failures: 0,
    trafficMode: 'replicas',
    stableReplicas: 2,
    spec: { service: 'web', analysis: analysis(), window: '10s', warmupMs: 0, drainSeconds: 0.05 },
    driver: 'client',
    history: [],
    ...o,
  };
}

function deployment(name: string, replicas: number, track?: 'canary', state?: CanaryState): V1Deployment {
  const labels = { app: 'web', ...(track ? { [TRACK_LABEL]: track } : {}) };
  return {
    metadata: {
      name,
      annotations: state ? { [CANARY_STATE_ANNOTATION]: writeCanaryState(state) } : {},
    },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: 'app', image: track ? 'web:2' : 'web:1' }] },
      },
    },
  };
}

/**
 * `web` with `state` on it and the canary side as startCanary leaves it: `web-canary` (0 pods, the state's
 * weight applies next), and for an HTTPRoute canary the route `web`, the canary Service and the stable Service
 * pinned to the stable pods.
 */
export function cluster(state: CanaryState, o: { canaryPods?: number; routeWeight?: number } = {}): FakeWorkloads {
  const api = new FakeWorkloads();
  const stablePods =
    state.trafficMode === 'replicas' ? state.stableReplicas - (o.canaryPods ?? 0) : state.stableReplicas;
  api.addWorkload(deployment('web', stablePods, undefined, state));
  api.addWorkload(deployment('web-canary', o.canaryPods ?? 0, 'canary'));
  const stableHash = api.pods.find((p) => p.deployment === 'web')?.hash;
  if (state.trafficMode === 'httproute') {
    api.addService({ metadata: { name: 'web' }, spec: { selector: { app: 'web', 'pod-template-hash': stableHash! } } });
    api.addService({ metadata: { name: 'web-canary' }, spec: { selector: { app: 'web', [TRACK_LABEL]: 'canary' } } });
    api.addRoute({
      apiVersion: `${GATEWAY.group}/${GATEWAY.version}`,
      kind: 'HTTPRoute',
      metadata: { name: 'web' },
      spec: { rules: [{ backendRefs: weightedRefs(o.routeWeight ?? (o.canaryPods ? state.weight : 0)) }] },
    } as never);
  } else api.addService({ metadata: { name: 'web' }, spec: { selector: { app: 'web' } } });
  return api;
}

function weightedRefs(weight: number) {
  if (!weight) return [{ name: 'web', port: 80 }];
  return [
    { name: 'web', port: 80, weight: 100 - weight },
    { name: 'web-canary', port: 80, weight },
  ];
}

export const routed = (o: Partial<CanaryState> = {}): CanaryState =>
  canaryState({ trafficMode: 'httproute', route: 'web/web', ...o });

export function stateOf(api: FakeWorkloads): CanaryState {
  return readCanaryState(api.deployments.get('web')!.metadata!.annotations)!;
}

export function replicasOf(api: FakeWorkloads, name: string): number | undefined {
  return api.deployments.get(name)?.spec?.replicas;
}

export const kubeOf = (api: FakeWorkloads) => api as unknown as Kube;

/** Prometheus as the test sets it: a healthy canary, a failing one (success rate 0), or not answering at all. */
export class FakeMetrics implements MetricsSource {
  mode: 'pass' | 'fail' | 'down' = 'pass';
  readonly queries: string[] = [];

  async scalar(query: string): Promise<number | undefined> {
    this.queries.push(query);
    if (this.mode === 'down')
      throw new SandpiperError('metrics-unreachable', 'Prometheus at http://prometheus does not answer: ECONNREFUSED');
    if (query === 'vector(1)' || query.startsWith('count(')) return 1;
    return this.mode === 'pass' ? 1 : 0;
  }
}

export const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` holds (or fails after `ms`). */
export async function until(what: string, check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await wait(10);
  }
}
