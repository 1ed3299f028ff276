// Canary notifications against the testbed: the webhook URL read from a real Secret, posted to a real HTTP receiver
// on 127.0.0.1 (retried after its 500; given up in bounded time when it never answers), and the last log lines of
// a real canary Deployment's pods on the real node.
import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppsV1Api } from '@kubernetes/client-node';
import { canaryDeploymentOf } from '../../../src/core/canary/control';
import { captureCanaryLogs, notifyCanary } from '../../../src/core/canary/notify';
import type { SlackMessage } from '../../../src/core/canary/notifyPayload';
import { TRACK_LABEL, type CanaryState } from '../../../src/core/canary/state';
import { testbedKube } from '../../support/canaryWorkspace';
import { deployApp, readyPods } from '../../support/realPods';
import { coreApi, createNamespace, kubeConfig } from '../../support/testbed';
import { eventually } from '../../support/wait';
import { BUSYBOX } from '../logs/talker';

/** Prints 30 numbered lines naming its pod, then idles (and stops at once on SIGTERM). */
const COUNTER = [
  'sh',
  '-c',
  'i=1; while [ $i -le 30 ]; do echo "line $i of $HOSTNAME"; i=$((i+1)); done; ' +
    "trap 'exit 0' TERM; sleep 3600 & wait",
];

interface Receiver {
  url: (path: string) => string;
  bodies: string[];
  hits: number;
  close(): Promise<void>;
}

/** An HTTP receiver on an ephemeral loopback port answering each POST with the next status (null: never answers). */
async function receiver(statuses: Array<number | null>): Promise<Receiver> {
  const r = { bodies: [] as string[], hits: 0 };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      r.hits++;
      r.bodies.push(body);
      const status = statuses.length > 1 ? statuses.shift()! : statuses[0];
      if (status === null) return; // holds the request open: the sender's timeout must end it
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'server error');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(r, {
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

function canaryState(extra: Partial<CanaryState> = {}): CanaryState {
  return {
    version: 1,
    status: 'aborted',
    image: BUSYBOX,
    container: 'web',
    steps: [10, 50, 100],
    stepIndex: 0,
    weight: 10,
    intervalMs: 10_000,
    stepStartedAt: new Date().toISOString(),
    failures: 3,
    trafficMode: 'replicas',
    stableReplicas: 1,
    reason: 'analysis failed 3 times',
    history: [],
    spec: {
      service: 'web',
      analysis: { failureLimit: 3, queries: [] },
      window: '10s',
      warmupMs: 0,
      drainSeconds: 10,
      notify: { secret: 'sandpiper-notify', key: 'url' },
    },
    lastAnalysis: {
      verdict: 'fail',
      summary: 'error rate 40% > 1%',
      at: new Date().toISOString(),
      metrics: [{ name: 'error-rate', canary: 0.4, stable: 0, threshold: '≤ 1%', verdict: 'fail' }],
    },
    ...extra,
  };
}

async function createWebhookSecret(namespace: string, url: string): Promise<void> {
  await coreApi().createNamespacedSecret({
    namespace,
    body: { metadata: { name: 'sandpiper-notify' }, stringData: { url } },
  });
}

describe('canary notifications on the testbed', function () {
  this.timeout(120_000);
  const kube = testbedKube();
  let ns: { name: string; dispose(): Promise<void> };
  const receivers: Receiver[] = [];

  before(async () => {
    ns = await createNamespace('sp-notify');
  });

  after(async () => {
    for (const r of receivers) await r.close();
    await ns?.dispose();
  });

  async function open(statuses: Array<number | null>): Promise<Receiver> {
    const r = await receiver(statuses);
    receivers.push(r);
    return r;
  }

  it('captures the last lines of the real canary pods only, prefixed by pod', async () => {
    await deployApp(ns.name, 'web', BUSYBOX, { command: COUNTER, readinessPath: null });
    const stable = await kubeConfig()
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ namespace: ns.name, name: 'web' });
    await kube.apps.createNamespacedDeployment({
      namespace: ns.name,
      body: canaryDeploymentOf(stable, 'web', BUSYBOX, 1),
    });
    const [pod] = await readyPods(ns.name, `app=web,${TRACK_LABEL}=canary`);
    const name = pod.metadata!.name!;
    const why: string[] = [];
    const lines = await eventually(
      'the canary pod has logged its 30 lines',
      async () => {
        const got = await captureCanaryLogs(kube, ns.name, 'web', 5, { log: (m) => why.push(m) });
        return got.length === 5 && got[4].endsWith('line 30 of ' + name) ? got : undefined;
      },
      30_000,
    );
    assert.deepEqual(
      lines,
      [26, 27, 28, 29, 30].map((i) => `${name}: line ${i} of ${name}`),
      `log: ${why.join('; ')}`,
    );
  });

  it('reads the URL from the Secret and posts again after a 500: sent on attempt 2 with the logs', async () => {
    const hook = await open([500, 200]);
    await createWebhookSecret(ns.name, hook.url('/services/T1/B2/hush-hush'));
    const logLines = await captureCanaryLogs(kube, ns.name, 'web', 20);
    assert.ok(logLines.length === 20, `got ${logLines.length} log lines`);
    const log: string[] = [];
    const started = Date.now();
    const result = await notifyCanary(kube, {
      namespace: ns.name,
      deployment: 'web',
      state: canaryState(),
      outcome: 'aborted',
      logLines,
      log: (m) => log.push(m),
    });
    assert.deepEqual(result, { sent: true, attempts: 2 });
    assert.ok(Date.now() - started >= 900, 'waited about 1 s before the second attempt');
    assert.equal(hook.hits, 2);
    assert.equal(hook.bodies[0], hook.bodies[1], 'the retry sends the same message');
    const message = JSON.parse(hook.bodies[1]) as SlackMessage;
    assert.equal(message.text, `Canary of ${ns.name}/web aborted: analysis failed 3 times`);
    const all = JSON.stringify(message.blocks);
    assert.match(all, /error-rate\*: canary 0\.4, stable 0 vs threshold ≤ 1% \(fail\)/);
    assert.ok(all.includes(logLines[19].replace(/"/g, '\\"')), 'the last log line is in the message');
    assert.ok(all.includes(`vscode://sandpiper.sandpiper/rollout?namespace=${ns.name}&deployment=web`));
    assert.ok(log.length >= 2);
    for (const line of log) assert.doesNotMatch(line, /hush-hush|127\.0\.0\.1/, line);
  });

  it('gives up on a receiver that never answers within a bounded time, the URL in no error', async () => {
    const hook = await open([null]);
    await coreApi().replaceNamespacedSecret({
      namespace: ns.name,
      name: 'sandpiper-notify',
      body: { metadata: { name: 'sandpiper-notify' }, stringData: { url: hook.url('/services/T1/B2/hush-hush') } },
    });
    const log: string[] = [];
    const started = Date.now();
    const result = await notifyCanary(kube, {
      namespace: ns.name,
      deployment: 'web',
      state: canaryState(),
      outcome: 'failed',
      error: 'the canary pods crash',
      log: (m) => log.push(m),
    });
    const seconds = (Date.now() - started) / 1000;
    // 3 attempts of at most 5 s plus waits of 1 s and 2 s.
    assert.ok(seconds >= 17 && seconds < 20, `took ${seconds} s`);
    assert.equal(result.sent, false);
    assert.equal(result.attempts, 3);
    assert.equal(hook.hits, 3);
    assert.match(result.error ?? '', /no answer within 5000 ms/);
    for (const line of [result.error ?? '', ...log]) assert.doesNotMatch(line, /hush-hush/, line);
  });

  it('without the Secret, says the kubectl command that creates it', async () => {
    await coreApi().deleteNamespacedSecret({ namespace: ns.name, name: 'sandpiper-notify' });
    const result = await notifyCanary(kube, {
      namespace: ns.name,
      deployment: 'web',
      state: canaryState(),
      outcome: 'promoted',
    });
    assert.equal(result.sent, false);
    assert.match(
      result.error ?? '',
      new RegExp(`kubectl -n ${ns.name} create secret generic sandpiper-notify --from-literal=url=https://hooks`),
    );
  });
});
