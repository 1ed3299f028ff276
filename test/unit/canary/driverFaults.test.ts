import { strict as assert } from 'node:assert';
import type { V1Deployment } from '@kubernetes/client-node';
import type { CanaryConfig } from '../../../src/core/config/types';
import { assertAnalysisValid, driveCanary } from '../../../src/core/canary/driver';
import { leaseName } from '../../../src/core/canary/lease';
import {
  CANARY_STATE_ANNOTATION,
  readCanaryState,
  writeCanaryState,
  type CanaryState,
} from '../../../src/core/canary/state';
import { GATEWAY, setRouteWeight, type HttpRoute } from '../../../src/core/canary/traffic';
import { type SandpiperError } from '../../../src/core/errors';
import type { Kube } from '../../../src/core/infra/kube/client';
import { FakeCluster, conflict, unreachable } from './fakeCluster';

const analysis = (o: Partial<CanaryConfig['analysis']> = {}): CanaryConfig['analysis'] => ({
  failureLimit: 1,
  queries: [],
  successRate: { op: '>=', value: 0.95 },
  ...o,
});

function route(): HttpRoute & { apiVersion: string; kind: string } {
  return {
    apiVersion: `${GATEWAY.group}/${GATEWAY.version}`,
    kind: 'HTTPRoute',
    metadata: { name: 'web' },
    spec: { rules: [{ matches: [{ path: { value: '/' } }], backendRefs: [{ name: 'web', port: 80 }] }] },
  };
}

function deployment(name: string, state?: CanaryState): V1Deployment {
  return {
    metadata: { name, annotations: state ? { [CANARY_STATE_ANNOTATION]: writeCanaryState(state) } : {} },
    spec: {
      replicas: 4,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: `${name}:1` }] } },
    },
  };
}

const progressing = (): CanaryState => ({
  version: 1,
  status: 'progressing',
  image: 'web:2',
  container: 'app',
  steps: [25, 100],
  stepIndex: 0,
  weight: 25,
  intervalMs: 600_000,
  stepStartedAt: new Date().toISOString(),
  failures: 0,
  trafficMode: 'replicas',
  stableReplicas: 4,
  history: [],
});

describe('canary faults the testbed cannot force (in-memory API)', function () {
  this.timeout(5000);

  describe('route weights with optimistic concurrency', () => {
    it("re-reads and keeps the other writer's change when the replace gets 409 once", async () => {
      const api = new FakeCluster();
      api.addRoute(route());
      // Between our read and our replace, someone else (a GitOps sync) adds a header match to the route.
      api.next('replaceNamespacedCustomObject', () =>
        api.edit(api.routes, 'web', (r) => {
          (r.spec!.rules![0] as Record<string, unknown>).filters = [{ type: 'RequestHeaderModifier' }];
        }),
      );
      await setRouteWeight(api, 'shop', 'web', 'web', 30);
      assert.equal(
        api.count('replaceNamespacedCustomObject'),
        2,
        'the first replace was refused with 409, the second went through',
      );
      assert.equal(api.count('getNamespacedCustomObject'), 2, 'read again after the conflict');
      const rule = api.routes.get('web')!.spec!.rules![0];
      assert.deepEqual(rule.backendRefs, [
        { name: 'web', port: 80, weight: 70 },
        { name: 'web-canary', port: 80, weight: 30 },
      ]);
      assert.deepEqual(rule.filters, [{ type: 'RequestHeaderModifier' }], "the other writer's change survives");
    });

    it('sends the resourceVersion it read, and gives up with a conflict error when it keeps changing', async () => {
      const api = new FakeCluster();
      api.addRoute(route());
      api.failAlways('replaceNamespacedCustomObject', conflict);
      await assert.rejects(
        setRouteWeight(api, 'shop', 'web', 'web', 30),
        (e: SandpiperError) => e.code === 'conflict' && /HTTPRoute web/.test(e.message),
      );
      assert.equal(api.count('replaceNamespacedCustomObject'), 5);
      api.failAlways('replaceNamespacedCustomObject', undefined);
      const seen: Array<string | undefined> = [];
      const replace = api.custom.replaceNamespacedCustomObject;
      api.custom.replaceNamespacedCustomObject = async (p) => {
        seen.push((p.body as HttpRoute).metadata?.resourceVersion);
        return replace(p);
      };
      const read = api.routes.get('web')!.metadata!.resourceVersion;
      await setRouteWeight(api, 'shop', 'web', 'web', 30);
      assert.deepEqual(seen, [read], 'the replace carries the resourceVersion it read');
    });
  });

  describe('thresholds', () => {
    it('refuses NaN and negative settings with a clear error', () => {
      assert.throws(
        () => assertAnalysisValid(analysis({ failureLimit: Number('abc') })),
        (e: SandpiperError) => e.code === 'invalid' && /failureLimit NaN/.test(e.message),
      );
      assert.throws(() => assertAnalysisValid(analysis({ failureLimit: -1 })), /failureLimit -1/);
      assert.throws(
        () => assertAnalysisValid(analysis({ successRate: { op: '>=', value: NaN } })),
        /successRate >= NaN/,
      );
      assert.throws(
        () =>
          assertAnalysisValid(
            analysis({ queries: [{ name: 'errors', query: 'x', threshold: { op: '<', value: Infinity } }] }),
          ),
        /errors < Infinity/,
      );
      assertAnalysisValid(analysis());
    });

    it('the driver refuses to start with a NaN failure limit, before it takes the lease', async () => {
      const api = new FakeCluster();
      api.addDeployment(deployment('web', progressing()));
      const run = driveCanary({
        kube: api as unknown as Kube,
        namespace: 'shop',
        deployment: 'web',
        service: 'web',
        analysis: analysis({ failureLimit: NaN }),
        metrics: { scalar: async () => 1 },
        holder: 'cli',
      });
      await assert.rejects(run, (e: SandpiperError) => e.code === 'invalid' && /--failure-limit/.test(e.hint ?? ''));
      assert.equal(api.count('createNamespacedLease'), 0);
    });
  });

  describe('a driver that loses its lease', () => {
    /** A driver (window-1, 1s lease, fast ticks) of a progressing rollout of web, 200ms after it started. */
    async function driverWithLease() {
      const api = new FakeCluster();
      api.addDeployment(deployment('web', progressing()));
      api.addDeployment(deployment('web-canary'));
      const run = driveCanary({
        kube: api as unknown as Kube,
        namespace: 'shop',
        deployment: 'web',
        service: 'web',
        analysis: analysis(),
        metrics: { scalar: async () => 1 },
        holder: 'window-1',
        leaseSeconds: 1,
        leaseRetryMs: 100,
        tickMs: 50,
      });
      await new Promise((r) => setTimeout(r, 200));
      return { api, run };
    }

    it('records the canary as paused with the reason and says how to take it over', async () => {
      // The driver only touches the lease, the state annotation and the replica counts on this path.
      const { api, run } = await driverWithLease();
      assert.equal(api.leases.get(leaseName('web'))?.spec?.holderIdentity, 'window-1');
      api.failAlways('replaceNamespacedLease', unreachable);
      const err = await run.then(
        () => assert.fail('the driver should stop'),
        (e: SandpiperError) => e,
      );
      assert.equal(err.code, 'canary-lease-lost');
      assert.match(err.message, /left paused at 25% with nobody driving it/);
      assert.match(err.hint ?? '', /sandpiper rollout resume web.*sandpiper rollout abort web/);
      const state = readCanaryState(api.deployments.get('web')!.metadata!.annotations)!;
      assert.equal(state.status, 'paused');
      assert.match(state.reason ?? '', /driver window-1 stopped: Lost the lease/);
      assert.equal(state.history.at(-1)?.event, 'driver-lost');
    });

    it('leaves the state alone when another driver already took over', async () => {
      const { api, run } = await driverWithLease();
      api.edit(api.leases, leaseName('web'), (l) => {
        l.spec!.holderIdentity = 'window-2';
        l.spec!.renewTime = new Date() as unknown as Date;
      });
      const err = await run.then(
        () => assert.fail('the driver should stop'),
        (e: SandpiperError) => e,
      );
      assert.match(err.message, /window-2 drives the canary of web now/);
      assert.equal(readCanaryState(api.deployments.get('web')!.metadata!.annotations)!.status, 'progressing');
    });
  });
});
