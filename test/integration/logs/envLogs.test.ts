// Environment logs read from the container runtime of the testbed's real node: pods whose containers print lines
// (tail, follow, a dropped stream, a pod started later, a crash-looping container, a replaced pod).
import { strict as assert } from 'node:assert';
import { AppsV1Api } from '@kubernetes/client-node';
import type { LogRecord } from '../../../src/core/logs/follow';
import { followEnvironmentLogs } from '../../../src/core/logs/environmentLogs';
import { Kube } from '../../../src/core/infra/kube/client';
import { podsOf, readyPods } from '../../support/realPods';
import { coreApi, createNamespace, kubeConfig, type Disposable } from '../../support/testbed';
import { eventually } from '../../support/wait';
import { ApiserverDropProxy } from './apiserverDropProxy';
import { createRealPod, deletePod, say, talkerContainers, talkerScript } from './talker';

/** A Service selecting app=`name` (the logs of `--service name` are its pods'). */
export async function createService(namespace: string, name: string): Promise<void> {
  await coreApi().createNamespacedService({
    namespace,
    body: { metadata: { name }, spec: { selector: { app: name }, ports: [{ port: 8080, targetPort: 8080 }] } },
  });
}

const PING = 'ping from the test';

describe('environment logs on the real node', function () {
  this.timeout(120_000);
  let ns: { name: string; dispose(): Promise<void> };
  const cleanups: Disposable[] = [];

  before(async () => {
    ns = await createNamespace('sp-logs');
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c.dispose().catch(() => undefined);
    await ns?.dispose();
  });

  /** A talker pod of service `app` (the Service is made with the first pod). */
  async function talker(name: string, app: string, preface: string[] = []): Promise<void> {
    await coreApi()
      .readNamespacedService({ namespace: ns.name, name: app })
      .catch(() => createService(ns.name, app));
    await createRealPod(ns.name, name, { labels: { app }, containers: { app: talkerScript(preface) } });
  }

  function follow(kube: Kube, options: { service?: string; tailLines?: number; follow?: boolean } = {}) {
    const abort = new AbortController();
    const lines: LogRecord[] = [];
    const notices: string[] = [];
    const done = followEnvironmentLogs({
      kube,
      namespace: ns.name,
      follow: options.follow ?? true,
      tailLines: options.tailLines,
      service: options.service,
      signal: abort.signal,
      onLine: (r) => lines.push(r),
      onNotice: (m) => notices.push(m),
    });
    cleanups.push({ dispose: async () => abort.abort() });
    return { lines, notices, done, stop: () => abort.abort() };
  }

  /** The lines of `pod`, without the pings of `streaming`. */
  const texts = (lines: LogRecord[], pod: string) =>
    lines.filter((l) => l.pod === pod && l.text !== PING).map((l) => l.text);

  /** Waits until the follow reads the pod's log (with a tail of 0, lines printed before that are not shown). */
  async function streaming(lines: LogRecord[], pod: string): Promise<void> {
    await eventually(
      `the log of ${pod} followed`,
      async () => lines.some((l) => l.pod === pod && l.text === PING) || void (await say(ns.name, pod, [PING])),
      30_000,
      500,
    );
  }

  it('honours the tail, then delivers lines printed after the follow started', async () => {
    await talker(
      'tail-1',
      'tail',
      Array.from({ length: 10 }, (_, i) => `old ${i + 1}`),
    );
    const f = follow(new Kube(kubeConfig()), { service: 'tail', tailLines: 3 });
    await eventually('the tail', () => f.lines.length >= 3, 20_000);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(texts(f.lines, 'tail-1'), ['old 8', 'old 9', 'old 10']);
    await say(ns.name, 'tail-1', ['new 1', 'new 2', 'new 3', 'new 4', 'new 5']);
    await eventually('the printed lines', () => f.lines.length >= 8, 20_000);
    assert.deepEqual(texts(f.lines, 'tail-1').slice(3), ['new 1', 'new 2', 'new 3', 'new 4', 'new 5']);
    assert.ok(f.lines.every((l) => l.container === 'app' && !Number.isNaN(Date.parse(l.timestamp))));
    f.stop();
    await f.done;
  });

  it('resumes a dropped stream without losing or repeating a line', async () => {
    await talker('drop-1', 'drop');
    const proxy = new ApiserverDropProxy();
    cleanups.push(proxy);
    const f = follow(new Kube(await proxy.start()), { service: 'drop', tailLines: 0 });
    await streaming(f.lines, 'drop-1');
    const expected: string[] = [];
    const delivered = (what: string) =>
      eventually(what, () => texts(f.lines, 'drop-1').length >= expected.length, 20_000).catch(async (err: Error) => {
        const seen = texts(f.lines, 'drop-1');
        const runtime = await coreApi().readNamespacedPodLog({ namespace: ns.name, name: 'drop-1', container: 'app' });
        throw new Error(
          `${err.message}\nseen ${seen.length}/${expected.length}: ${seen.join(', ')}\n${f.notices.join('\n')}` +
            `\nthe container's log: ${runtime.split('\n').join(', ')}`,
        );
      });
    const write = async (batch: string[]) => {
      await say(ns.name, 'drop-1', batch);
      expected.push(...batch);
    };
    await write(Array.from({ length: 20 }, (_, i) => `before ${i + 1}`));
    await delivered('lines before the drop');
    assert.ok(proxy.dropAll() > 0, 'there were connections to drop');
    // Printed while the stream is down, in the same second as the last delivered line: the hard case.
    await write([...Array.from({ length: 20 }, (_, i) => `during ${i + 1}`), 'during 20']);
    await delivered('lines after the drop');
    await write(Array.from({ length: 5 }, (_, i) => `after ${i + 1}`));
    await delivered('lines after the resume');
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(texts(f.lines, 'drop-1'), expected);
    assert.ok(
      f.notices.some((n) => /^drop-1\/app: log stream resumed from /.test(n)),
      `notices: ${f.notices.join(' | ')}`,
    );
    f.stop();
    await f.done;
  });

  it('interleaves two pods with pod/container prefixes and picks up a pod started later', async () => {
    await talker('mix-a', 'mix');
    const f = follow(new Kube(kubeConfig()), { service: 'mix', tailLines: 0 });
    await streaming(f.lines, 'mix-a');
    await talker('mix-b', 'mix', ['b booted']);
    await eventually('the later pod', () => f.lines.some((l) => l.pod === 'mix-b'), 20_000);
    await Promise.all([
      say(ns.name, 'mix-a', ['a 1', 'a 2', 'a 3', 'a 4', 'a 5']),
      say(ns.name, 'mix-b', ['b 1', 'b 2', 'b 3', 'b 4', 'b 5']),
    ]);
    await eventually('both pods', () => texts(f.lines, 'mix-a').length + texts(f.lines, 'mix-b').length >= 11, 20_000);
    assert.deepEqual(texts(f.lines, 'mix-a'), ['a 1', 'a 2', 'a 3', 'a 4', 'a 5']);
    // A pod that appears after the follow started shows its whole log.
    assert.deepEqual(texts(f.lines, 'mix-b'), ['b booted', 'b 1', 'b 2', 'b 3', 'b 4', 'b 5']);
    assert.ok(f.lines.every((l) => l.container === 'app'));
    f.stop();
    await f.done;
  });

  it('follows a crash-looping container: each crashed instance is read once, in order, and named', async () => {
    // Each start counts itself in an emptyDir (kept across restarts), prints and exits 1: a real CrashLoopBackOff.
    const script =
      'n=$(( $(cat /data/n 2>/dev/null || echo 0) + 1 )); echo $n > /data/n; ' +
      'echo "start $n"; sleep 0.5; echo "crash $n" >&2; exit 1';
    await createService(ns.name, 'crash');
    await createRealPod(ns.name, 'crash-1', {
      labels: { app: 'crash' },
      containers: { app: script },
      spec: {
        volumes: [{ name: 'data', emptyDir: {} }],
        containers: talkerContainers({ containers: { app: script } }).map((c) => ({
          ...c,
          volumeMounts: [{ name: 'data', mountPath: '/data' }],
        })),
      },
    });
    const f = follow(new Kube(kubeConfig()), { service: 'crash' });
    await eventually('the second instance crashed', () => texts(f.lines, 'crash-1').includes('crash 2'), 90_000, 250);
    assert.deepEqual(texts(f.lines, 'crash-1').slice(0, 4), ['start 1', 'crash 1', 'start 2', 'crash 2']);
    assert.ok(f.lines.every((l) => l.pod === 'crash-1' && l.container === 'app'));
    assert.ok(
      f.notices.some((n) => /^crash-1\/app: log stream (ended; reconnecting|resumed from )/.test(n)),
      `notices: ${f.notices.join(' | ')}`,
    );
    const pod = await coreApi().readNamespacedPod({ namespace: ns.name, name: 'crash-1' });
    const status = pod.status?.containerStatuses?.[0];
    assert.ok((status?.restartCount ?? 0) >= 1, JSON.stringify(status));
    assert.equal(status?.lastState?.terminated?.exitCode, 1, 'the previous container crashed for real');
    f.stop();
    await f.done;

    // Read once (no follow) while it backs off: the crashed container's lines are still there, named.
    const once = follow(new Kube(kubeConfig()), { service: 'crash', follow: false });
    await once.done;
    assert.match(texts(once.lines, 'crash-1').join('\n'), /start \d+\ncrash \d+/);
  });

  it('follows the replacement when a Deployment pod is deleted', async () => {
    const labels = { app: 'web' };
    await createService(ns.name, 'web');
    await kubeConfig()
      .makeApiClient(AppsV1Api)
      .createNamespacedDeployment({
        namespace: ns.name,
        body: {
          metadata: { name: 'web', labels },
          spec: {
            replicas: 1,
            selector: { matchLabels: labels },
            template: {
              metadata: { labels },
              spec: {
                terminationGracePeriodSeconds: 1,
                containers: talkerContainers({ containers: { app: talkerScript(['hello from $HOSTNAME']) } }),
              },
            },
          },
        },
      });
    const [first] = await readyPods(ns.name, 'app=web');
    const old = first.metadata!.name!;
    const f = follow(new Kube(kubeConfig()), { service: 'web', tailLines: 1 });
    await eventually('the first pod', () => texts(f.lines, old).includes(`hello from ${old}`), 20_000);
    await say(ns.name, old, ['last words']);
    await eventually('the last words', () => texts(f.lines, old).includes('last words'), 20_000);
    await deletePod(ns.name, old);
    const next = await eventually(
      'the replacement pod',
      async () => (await podsOf(ns.name, 'app=web')).find((p) => p.metadata?.name !== old)?.metadata?.name,
      60_000,
    );
    await eventually('the replacement greeting', () => texts(f.lines, next).includes(`hello from ${next}`), 60_000);
    await readyPods(ns.name, 'app=web');
    await say(ns.name, next, ['from the new pod']);
    await eventually('the new pod line', () => texts(f.lines, next).includes('from the new pod'), 20_000);
    assert.deepEqual(texts(f.lines, old), [`hello from ${old}`, 'last words']);
    assert.deepEqual(texts(f.lines, next), [`hello from ${next}`, 'from the new pod']);
    f.stop();
    await f.done;
  });
});
