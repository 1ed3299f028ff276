// Proves the testbed itself: each capability the other integration tests rely on, through the same client
// libraries they use (client-node, dockerode, plain HTTP), so a broken testbed fails here with a precise name.
// Deployments run real containers on the real node; the exec/logs/port-forward cases prove the KWOK tier (bare
// pods pinned to the fake nodes) that the 500-pod scale benchmark still uses — feature tests use real pods.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import {
  addPrometheusTarget,
  createNamespace,
  execIntoDir,
  loadTestbed,
  logsFrom,
  portForwardTo,
  testbedEnv,
  writeCriLogLine,
} from '../../support/testbed';
import { GaugeEndpoint, dockerClient, dockerProgress, tarOf, untar } from './hostServices';
import { execWithStdin, followLogs, forwardToPod } from './kubeStreams';
import { eventually } from '../../support/wait';
import {
  appsApi,
  createDeployment,
  createReadyPod,
  deployment,
  isReady,
  podsOf,
  replicaSetsOf,
  rolloutComplete,
  waitForDefaultServiceAccount,
} from './workloads';

const run = promisify(execFile);

describe('testbed', function () {
  this.timeout(120_000);
  let cleanups: Array<() => Promise<unknown> | unknown> = [];
  const later = (fn: () => Promise<unknown> | unknown): void => void cleanups.push(fn);
  const namespace = async (prefix: string): Promise<string> => {
    const ns = await createNamespace(prefix);
    later(() => ns.dispose());
    await waitForDefaultServiceAccount(ns.name);
    return ns.name;
  };
  const tempDir = (prefix: string): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    later(() => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
  };

  afterEach(async () => {
    const todo = cleanups.reverse();
    cleanups = [];
    for (const fn of todo)
      await Promise.resolve()
        .then(fn)
        .catch((e: unknown) => console.warn(`cleanup failed: ${String(e)}`));
  });

  it('scales a Deployment from 1 to 3 Ready pods', async () => {
    const ns = await namespace('tb-scale');
    await createDeployment(ns, deployment('web', 'sandpiper/busybox:latest', 1));
    await eventually(
      '1 ready replica',
      async () =>
        (await appsApi().readNamespacedDeployment({ namespace: ns, name: 'web' })).status?.readyReplicas === 1,
      30_000,
    );

    await appsApi().patchNamespacedDeploymentScale({
      namespace: ns,
      name: 'web',
      body: [{ op: 'replace', path: '/spec/replicas', value: 3 }],
    });
    const pods = await eventually(
      '3 Running+Ready pods',
      async () => {
        const p = await podsOf(ns, 'web');
        return p.length === 3 && p.every(isReady) ? p : undefined;
      },
      30_000,
    );
    assert.equal(new Set(pods.map((p) => p.metadata?.name)).size, 3);
    const d = await eventually(
      'readyReplicas 3',
      async () => {
        const dep = await appsApi().readNamespacedDeployment({ namespace: ns, name: 'web' });
        return dep.status?.readyReplicas === 3 ? dep : undefined;
      },
      30_000,
    );
    assert.equal(d.spec?.replicas, 3);
    assert.equal(d.status?.availableReplicas, 3);
  });

  it('completes a rollout to a new image the way `kubectl rollout status` sees it', async () => {
    const ns = await namespace('tb-rollout');
    await createDeployment(ns, deployment('api', 'sandpiper/busybox:latest', 2));
    await eventually(
      'first rollout complete',
      async () => rolloutComplete(await appsApi().readNamespacedDeployment({ namespace: ns, name: 'api' })),
      30_000,
    );

    await appsApi().patchNamespacedDeployment({
      namespace: ns,
      name: 'api',
      body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'sandpiper/node:20' }],
    });
    const { stdout } = await run(
      path.join(loadTestbed().binDir, 'kubectl'),
      ['rollout', 'status', `deployment/api`, '-n', ns, '--timeout=90s'],
      {
        env: testbedEnv(),
        timeout: 100_000,
      },
    );
    assert.match(stdout, /successfully rolled out/);

    const d = await appsApi().readNamespacedDeployment({ namespace: ns, name: 'api' });
    assert.ok(
      (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? Infinity),
      'observedGeneration ≥ generation',
    );
    assert.equal(d.status?.updatedReplicas, 2);
    assert.equal(d.status?.availableReplicas, 2);
    assert.equal(d.status?.replicas, 2);
    const sets = await eventually(
      'old ReplicaSet scaled to 0',
      async () => {
        const rs = await replicaSetsOf(ns, 'api');
        const old = rs.find((r) => r.spec?.template?.spec?.containers[0].image === 'sandpiper/busybox:latest');
        return old && old.spec?.replicas === 0 && (old.status?.replicas ?? 0) === 0 ? rs : undefined;
      },
      30_000,
    );
    assert.equal(sets.length, 2);
    const current = sets.find((r) => r.spec?.template?.spec?.containers[0].image === 'sandpiper/node:20');
    assert.equal(current?.status?.readyReplicas, 2);
    const pods = await podsOf(ns, 'api');
    assert.deepEqual(
      pods.map((p) => p.spec?.containers[0].image),
      ['sandpiper/node:20', 'sandpiper/node:20'],
    );
  });

  it('round-trips bytes and a tar stream through exec stdin', async () => {
    const ns = await namespace('tb-exec');
    const dir = tempDir('sp-tb-exec-');
    const exec = await execIntoDir(ns, 'shell', dir);
    later(() => exec.dispose());
    await createReadyPod(ns, 'shell', loadTestbed().nodes[0]);

    const bytes = randomBytes(300_000);
    const echoed = await execWithStdin(ns, 'shell', ['sh', '-c', `head -c ${bytes.length} > blob && cat blob`], bytes);
    assert.equal(echoed.status.status, 'Success', echoed.stderr);
    assert.equal(echoed.stdout.length, bytes.length);
    assert.ok(echoed.stdout.equals(bytes), 'stdout differs from the bytes sent');
    assert.ok(fs.readFileSync(path.join(dir, 'blob')).equals(bytes), 'the file written in the exec dir differs');

    const binary = randomBytes(20_000);
    const archive = await tarOf({ 'hello.txt': 'hello from the testbed\n', 'sub/data.bin': binary }, 10240);
    assert.equal(archive.length % 10240, 0);
    const extracted = await execWithStdin(ns, 'shell', ['tar', '-xf', '-', '-b', '20'], archive);
    assert.equal(extracted.status.status, 'Success', extracted.stderr);
    assert.equal(fs.readFileSync(path.join(dir, 'hello.txt'), 'utf8'), 'hello from the testbed\n');
    assert.ok(fs.readFileSync(path.join(dir, 'sub', 'data.bin')).equals(binary), 'sub/data.bin differs');

    const failed = await execWithStdin(ns, 'shell', ['sh', '-c', 'exit 3'], Buffer.alloc(0));
    assert.equal(failed.status.status, 'Failure', 'a failing command must not report Success');
  });

  it('delivers log lines appended after a follow started', async () => {
    const ns = await namespace('tb-logs');
    const file = path.join(tempDir('sp-tb-logs-'), 'app.log');
    writeCriLogLine(file, 'before the follow');
    const logs = await logsFrom(ns, 'talker', 'app', file);
    later(() => logs.dispose());
    await createReadyPod(ns, 'talker', loadTestbed().nodes[1]);

    const follow = await followLogs(ns, 'talker', 'app');
    later(() => follow.stop());
    await eventually(
      'the line written before the follow',
      async () => follow.text().includes('before the follow'),
      30_000,
    );
    const marks = [1, 2, 3].map((i) => `appended later #${i} ${randomBytes(4).toString('hex')}`);
    for (const m of marks) {
      writeCriLogLine(file, m);
      await eventually(`"${m}" on the followed stream`, async () => follow.text().includes(m), 15_000);
    }
    assert.deepEqual(follow.text().trim().split('\n'), ['before the follow', ...marks]);
  });

  it('carries an HTTP request through a pod port-forward', async () => {
    const ns = await namespace('tb-pf');
    const token = randomBytes(8).toString('hex');
    const server = http.createServer((req, res) => res.end(`pong ${token} ${req.url}`));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    later(() => new Promise((resolve) => server.close(resolve)));
    const pf = await portForwardTo(ns, 'web', 8080, '127.0.0.1', (server.address() as AddressInfo).port);
    later(() => pf.dispose());
    await createReadyPod(ns, 'web', loadTestbed().nodes[0]);

    const local = await forwardToPod(ns, 'web', 8080);
    later(() => local.close());
    const body = await eventually(
      'a forwarded response',
      async () => {
        const res = await fetch(`http://127.0.0.1:${local.port}/ping`, {
          signal: AbortSignal.timeout(5000),
          headers: { connection: 'close' },
        });
        return res.ok ? res.text() : undefined;
      },
      30_000,
      500,
    );
    assert.equal(body, `pong ${token} /ping`);
  });

  it('builds an image with dockerode, pushes it, and the registry lists it', async () => {
    const docker = dockerClient();
    const registry = loadTestbed().registry;
    const tag = `t${randomBytes(4).toString('hex')}`;
    const repo = `${registry}/testbed-selftest/hello`;
    const content = `hello ${tag}\n`;
    const context = await tarOf({
      Dockerfile: 'FROM sandpiper/busybox:latest\nCOPY hello.txt /hello.txt\n',
      'hello.txt': content,
    });
    // version '1' is the classic builder (the testbed's dockerd has no BuildKit session for dockerode).
    await dockerProgress(
      docker,
      await docker.buildImage(Readable.from([context]), { t: `${repo}:${tag}`, version: '1' }),
    );

    const container = await docker.createContainer({ Image: `${repo}:${tag}`, Cmd: ['true'] });
    later(() => container.remove({ force: true }));
    const copied = await untar(await container.getArchive({ path: '/hello.txt' }));
    assert.equal(copied.get('hello.txt')?.toString('utf8'), content, 'COPY did not put hello.txt in the image');

    await dockerProgress(docker, await docker.getImage(repo).push({ tag, authconfig: { serveraddress: registry } }));
    const catalog = (await (await fetch(`http://${registry}/v2/_catalog`)).json()) as { repositories: string[] };
    assert.ok(catalog.repositories.includes('testbed-selftest/hello'), JSON.stringify(catalog));
    const tags = (await (await fetch(`http://${registry}/v2/testbed-selftest/hello/tags/list`)).json()) as {
      tags: string[];
    };
    assert.ok(tags.tags.includes(tag), JSON.stringify(tags));
  });

  it('answers a PromQL query over a target the test exposes', async () => {
    const job = `testbed-selftest-${randomBytes(4).toString('hex')}`;
    const gauge = new GaugeEndpoint('sandpiper_testbed_selftest_value');
    const address = await gauge.listen();
    later(() => gauge.close());
    const target = addPrometheusTarget(job, address);
    later(() => target.dispose());

    const query = async (): Promise<string | undefined> => {
      const q = encodeURIComponent(`${gauge.metric}{job="${job}"}`);
      const res = (await (await fetch(`${loadTestbed().prometheusUrl}/api/v1/query?query=${q}`)).json()) as {
        status: string;
        data?: { result?: Array<{ value: [number, string] }> };
      };
      assert.equal(res.status, 'success');
      return res.data?.result?.[0]?.value[1];
    };
    // Two values in turn: the second proves Prometheus keeps scraping the live endpoint, not one stale sample.
    for (const value of [42, 1337]) {
      gauge.value = value;
      assert.equal(
        await eventually(
          `${gauge.metric} = ${value}`,
          async () => ((await query()) === String(value) ? String(value) : undefined),
          30_000,
        ),
        String(value),
      );
    }
  });
});
