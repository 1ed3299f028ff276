// The in-cluster canary controller end to end (issue 16), on the real node: installed in sandpiper-system from the
// project's own image, it drives canaries whose state says driver: controller. A canary started from the CLI
// (--driver auto hands it over), with the CLI then SIGKILLed, finishes by itself — promoted or rolled back — and it
// survives chaos: its pod deleted mid-step (the next one resumes from the annotation, no step twice), Prometheus
// stopped (the canary pauses, never promotes, and resumes once Prometheus is back), the API server restarted.
// The shared testbed's `auto` starts go to the controller while it runs: installed in before(), removed in after().
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CanaryConfig } from '../../../src/core/config/types';
import { canaryState, startCanary } from '../../../src/core/canary/control';
import { leaseName } from '../../../src/core/canary/lease';
import type { CanaryState } from '../../../src/core/canary/state';
import { sleep } from '../../../src/core/errors';
import { canaryImage, createService, testbedKube, waitForSeries } from '../../support/canaryWorkspace';
import { deleteControllerPod, restartApiServer, startPrometheus, stopPrometheus } from '../../support/chaos';
import { controllerPods, installTestController, uninstallTestController } from '../../support/controller';
import { GatewayLoad } from '../../support/gatewayLoad';
import { exampleImage } from '../../support/images';
import { requireRealNode } from '../../support/realPods';
import { createNamespace, testbedEnv } from '../../support/testbed';
import { eventually } from '../../support/wait';

const kube = testbedKube();
const BIN = path.resolve(__dirname, '../../../bin/sandpiper.js');
const LEASE_SECONDS = 6;
/** The first analysis comes one interval after the step's weight: the canary pod is scraped a few times by then. */
const INTERVAL_MS = 15_000;
const ANALYSIS: CanaryConfig['analysis'] = { successRate: { op: '>=', value: 0.95 }, failureLimit: 0, queries: [] };
const TERMINAL_MS = 240_000;

/** Samples the canary's state every 250 ms: what the test asserts on besides the end state. */
class StateLog {
  readonly states: Array<CanaryState & { seenAt: number }> = [];
  private on = true;
  private readonly loop: Promise<void>;

  constructor(namespace: string) {
    this.loop = (async () => {
      while (this.on) {
        const s = await canaryState(kube, namespace, 'web').catch(() => undefined);
        if (s) this.states.push({ ...s, seenAt: performance.now() });
        await sleep(250);
      }
    })();
  }

  async stop(): Promise<void> {
    this.on = false;
    await this.loop;
  }

  /** The weights seen, in order, while the canary stepped (before promote or abort took over). */
  steppingWeights(): number[] {
    return this.states.filter((s) => s.status === 'progressing' || s.status === 'paused').map((s) => s.weight);
  }
}

describe('in-cluster canary controller (real node: installed from the project image, chaos)', function () {
  this.timeout(300_000);
  let ns: { name: string; dispose(): Promise<void> };
  let load: GatewayLoad | undefined;
  let log: StateLog | undefined;
  let cli: ChildProcess | undefined;
  let cwd = '';
  let good = '';
  let bad = '';

  before(async function () {
    this.timeout(1_200_000); // the first run builds the example's images and the controller's
    requireRealNode();
    assert.ok(fs.existsSync(path.resolve(__dirname, '../../../dist/cli.js')), 'build the CLI first (npm run build)');
    [, good, bad] = await Promise.all([exampleImage(), canaryImage('good'), canaryImage('bad')]);
    await installTestController(kube, { leaseSeconds: LEASE_SECONDS });
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-controller-'));
  });

  after(async function () {
    this.timeout(120_000);
    await uninstallTestController(kube);
    if (cwd) fs.rmSync(cwd, { recursive: true, force: true });
  });

  beforeEach(async function () {
    ns = await createNamespace(`ctl-${this.currentTest?.title.slice(0, 10) ?? 't'}`);
    // Traffic through the Gateway to an HTTPRoute's hostname: the pods' request metrics the analysis judges.
    const host = await createService(kube, ns.name, 'web', { replicas: 2, route: true });
    load = new GatewayLoad(host!, { rps: 20, concurrency: 2 }).start();
    await load.settled('stable', 30);
  });

  afterEach(async () => {
    if (cli?.pid && cli.exitCode === null && cli.signalCode === null) cli.kill('SIGKILL');
    cli = undefined;
    await log?.stop();
    log = undefined;
    await load?.stop();
    load = undefined;
    await ns.dispose();
  });

  /** Starts the canary in this process, for the controller to drive (what `rollout start --detach` does). */
  async function startForController(image: string, steps: number[]): Promise<void> {
    await startCanary(kube, {
      namespace: ns.name,
      deployment: 'web',
      image,
      canary: { steps, intervalMs: INTERVAL_MS, analysis: ANALYSIS },
      driver: 'controller',
    });
    log = new StateLog(ns.name);
  }

  /** `sandpiper rollout start` as a user runs it, in its own process, its output kept for the assertions. */
  function startFromCli(image: string, failureLimit = 0): { output: () => string } {
    let output = '';
    cli = spawn(
      process.execPath,
      [
        BIN,
        'rollout',
        'start',
        'web',
        '-n',
        ns.name,
        '--image',
        image,
        '--steps',
        '50,100',
        '--interval',
        `${INTERVAL_MS / 1000}s`,
        '--failure-limit',
        String(failureLimit),
        '--driver',
        'auto',
      ],
      { cwd, env: testbedEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    cli.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    cli.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    log = new StateLog(ns.name);
    return { output: () => output };
  }

  async function handedOff(run: { output: () => string }): Promise<void> {
    await eventually('the CLI handing the canary to the controller', () =>
      /in-cluster controller .* drives it/.test(run.output()),
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}\n--- the CLI said:\n${run.output()}\n${await diagnosis()}`);
    });
  }

  /** The canary's state and the controller's pods with their last log lines: why something did not happen. */
  async function diagnosis(): Promise<string> {
    const s = await canaryState(kube, ns.name, 'web').catch((e: Error) => e.message);
    const pods = await controllerPods(kube).catch(() => []);
    const logs = await Promise.all(
      pods.map((p) =>
        kube.core
          .readNamespacedPodLog({ namespace: p.metadata!.namespace!, name: p.metadata!.name!, tailLines: 30 })
          .then((l) => `--- ${p.metadata!.name} (${p.status?.phase}):\n${l}`)
          .catch((e: Error) => `--- ${p.metadata!.name}: ${e.message}`),
      ),
    );
    return `--- canary state: ${JSON.stringify(s, null, 1)}\n${logs.join('\n') || '--- no controller pods'}`;
  }

  function killCli(): void {
    assert.ok(cli?.pid, 'the CLI runs');
    assert.equal(cli.exitCode, null, 'the CLI still runs when it is killed');
    cli.kill('SIGKILL');
  }

  const settle = (what: string, ok: (s: CanaryState) => boolean, timeoutMs = TERMINAL_MS) =>
    eventually(
      what,
      async () => {
        const s = await canaryState(kube, ns.name, 'web');
        return s && ok(s) ? s : undefined;
      },
      timeoutMs,
      500,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await diagnosis()}`);
    });

  const ended = (status: 'promoted' | 'aborted') =>
    settle(`the canary ${status}`, (s) => s.status === 'promoted' || s.status === 'aborted').then((s) => {
      assert.equal(s.status, status, `${s.status}: ${s.reason ?? ''}\n${JSON.stringify(s.history, null, 1)}`);
      return s;
    });

  async function eventReasons(): Promise<string[]> {
    const list = await kube.core.listNamespacedEvent({
      namespace: ns.name,
      fieldSelector: 'involvedObject.kind=Deployment,involvedObject.name=web',
    });
    return list.items.map((e) => e.reason ?? '');
  }

  /** Each step recorded once, the weights only moving forward while the canary stepped. */
  function assertNoDoubleStep(s: CanaryState): void {
    const steps = s.history.filter((h) => /^step \d+\//.test(h.event)).map((h) => h.event);
    assert.deepEqual(steps, [...new Set(steps)], `a step recorded twice: ${JSON.stringify(s.history, null, 1)}`);
    const weights = log!.steppingWeights();
    for (let i = 1; i < weights.length; i++)
      assert.ok(weights[i] >= weights[i - 1], `the weight went back: ${weights.join(' → ')}`);
  }

  it('a canary started from the CLI, the CLI then SIGKILLed after step 1, is promoted by the controller', async () => {
    const run = startFromCli(good);
    await handedOff(run);
    await settle('step 2 (the first analysis passed)', (s) => s.stepIndex >= 1 || s.status !== 'progressing');
    killCli();
    const end = await ended('promoted');
    assert.equal(end.driver, 'controller');
    assertNoDoubleStep(end);
    const d = await kube.apps.readNamespacedDeployment({ namespace: ns.name, name: 'web' });
    assert.equal(d.spec?.template.spec?.containers[0].image, good);
    await load!.settled('canary');
    const reasons = await eventReasons();
    for (const r of ['CanaryDriving', 'CanaryStepAdvanced', 'CanaryPromoted'])
      assert.ok(reasons.includes(r), `Event ${r} on the Deployment (seen: ${reasons.join(', ')})`);
    // The controller's own metrics, scraped by the testbed's Prometheus from its pod.
    await waitForSeries(`sandpiper_canary_decisions_total{rollout_namespace="${ns.name}",decision="promote"}`, 90_000);
  });

  it('a bad build started from the CLI, the CLI then SIGKILLed, is rolled back by the controller', async () => {
    // One failure tolerated: the first failed analysis is a retry (CanaryAnalysisFailed), the second rolls back.
    const run = startFromCli(bad, 1);
    await handedOff(run);
    await eventually('the bad build serving its share', () => (load!.tail(60).canary ?? 0) > 0, 120_000);
    killCli();
    const end = await ended('aborted');
    assert.match(end.reason ?? '', /analysis failed/);
    assert.equal(end.failures, 2, 'rolled back on the second failed analysis');
    assert.ok(end.history.some((h) => h.event === 'analysis-aborted'));
    await load!.settled('stable');
    const reasons = await eventReasons();
    for (const r of ['CanaryAnalysisFailed', 'CanaryAborted'])
      assert.ok(reasons.includes(r), `Event ${r} on the Deployment (seen: ${reasons.join(', ')})`);
    await waitForSeries(`sandpiper_canary_decisions_total{rollout_namespace="${ns.name}",decision="abort"}`, 90_000);
  });

  it('its pod deleted mid-step: the next pod resumes from the annotation, no step twice, weights only forward', async () => {
    await startForController(good, [25, 50, 100]);
    const mid = await settle('mid step 2', (s) => s.stepIndex === 1 || s.status !== 'progressing');
    assert.equal(mid.status, 'progressing');
    const lease = await kube.coordination.readNamespacedLease({ namespace: ns.name, name: leaseName('web') });
    const holder = lease.spec?.holderIdentity ?? '';
    assert.match(holder, /^controller\//, 'the controller drives it');
    const deleted = await deleteControllerPod(kube, holder.slice('controller/'.length));
    const end = await ended('promoted');
    assertNoDoubleStep(end);
    // A finished driver releases (deletes) the canary's Lease: gone is as good as held by someone else.
    const after = await kube.coordination
      .readNamespacedLease({ namespace: ns.name, name: leaseName('web') })
      .then((l) => l.spec?.holderIdentity)
      .catch((err: { code?: number }) => {
        if (err.code === 404) return undefined;
        throw err;
      });
    assert.ok(after !== holder, `another pod finished it (the lease is still ${holder}'s)`);
    const pods = await controllerPods(kube);
    assert.ok(pods.length >= 1, 'the Deployment replaced the pod');
    assert.ok(!JSON.stringify(pods).includes(`"${deleted}"`), `${deleted} is gone`);
  });

  it('Prometheus stopped mid-rollout: the canary pauses (never promotes), then resumes and finishes', async () => {
    await startForController(good, [50, 100]);
    await waitForSeries(`rate(http_requests_total{namespace="${ns.name}",service="web",track="canary"}[10s]) > 0`);
    let paused: CanaryState | undefined;
    const down = performance.now();
    await stopPrometheus();
    let up = Infinity;
    try {
      paused = await settle(
        'paused with autoResume while Prometheus is down',
        (s) => (s.status === 'paused' && s.autoResume === true) || s.status !== 'progressing',
        INTERVAL_MS * 3,
      );
      // Held a while longer: still paused, never promoted.
      await sleep(8000);
    } finally {
      up = performance.now();
      await startPrometheus();
    }
    assert.equal(paused.status, 'paused', `${paused.status}: ${paused.reason ?? ''}`);
    assert.match(paused.reason ?? '', /metrics unavailable/);
    const whileDown = log!.states.filter((s) => s.seenAt >= down && s.seenAt <= up).map((s) => s.status);
    assert.ok(
      whileDown.length > 10 && whileDown.every((st) => st === 'progressing' || st === 'paused'),
      `the canary while Prometheus was down: ${[...new Set(whileDown)].join(', ')}`,
    );
    const end = await ended('promoted');
    assert.ok(
      end.history.some((h) => h.event === 'resumed'),
      JSON.stringify(end.history, null, 1),
    );
    const reasons = await eventReasons();
    for (const r of ['CanaryMetricsUnavailable', 'CanaryResumed', 'CanaryPromoted'])
      assert.ok(reasons.includes(r), `Event ${r} on the Deployment (seen: ${reasons.join(', ')})`);
  });

  it('the API server restarted mid-rollout: the controller carries on and the canary finishes', async () => {
    await startForController(good, [50, 100]);
    await settle('step 1 under way', (s) => s.history.length > 1 || s.status !== 'progressing', 60_000);
    await sleep(3000);
    const outage = await restartApiServer({ downForMs: 2000 });
    console.log(
      `      API server away ${(outage.downMs / 1000).toFixed(1)} s (start ${outage.startMs.toFixed(0)} ms)` +
        (outage.restarted.length ? `; started again after it: ${outage.restarted.join(', ')}` : ''),
    );
    const end = await ended('promoted');
    assertNoDoubleStep(end);
  });
});
