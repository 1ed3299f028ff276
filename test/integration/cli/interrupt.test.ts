// One Ctrl+C (or SIGTERM) stops every long-running verb of the real CLI at once, with the shell's exit code
// (130 / 143), and leaves nothing behind: no half-made namespace, no held canary Lease, no child process,
// no listening port. Each verb is interrupted while it is visibly doing its work.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { liveDriver } from '../../../src/core/canary/lease';
import { readState } from '../../../src/core/canary/state';
import { testbedKube } from '../../support/canaryWorkspace';
import { exampleImage } from '../../support/images';
import { deployApp, requireRealNode } from '../../support/realPods';
import { createNamespace, testbedEnv } from '../../support/testbed';
import { eventually } from '../../support/wait';
import { TestRepo, sampleProject } from '../../unit/pr/support/gitRepo';
import { createBaseline, deleteNamespace, exampleWithDeployment, uniqueName } from '../env/baseline';
import { BUSYBOX, NAMED_HTTPD, NO_SHELL_IMAGE, createRealPod, talkerScript } from '../logs/talker';
import { CliProcess, assertBuilt, syncWorkspace, isAlive, listening, silentApiServer } from './cliProcess';

/** Below the CLI's 5 s clean-up grace: a verb that ignores its signal and is only ended by the grace fails. */
const PROMPT_MS = 4000;

const kube = testbedKube();

async function namespaceGoneOrGoing(name: string): Promise<boolean> {
  try {
    return !!(await kube.core.readNamespace({ name })).metadata?.deletionTimestamp;
  } catch (err) {
    return (err as { code?: number }).code === 404;
  }
}

describe('one Ctrl+C stops each long-running verb (CLI on the testbed)', function () {
  this.timeout(180_000);
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const running: CliProcess[] = [];
  let tmp: string;
  let ns: string;

  function cli(args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliProcess {
    const p = new CliProcess(args, { cwd: o.cwd ?? tmp, env: o.env });
    running.push(p);
    return p;
  }

  function assertStopped(
    exit: { code: number | null; signal: NodeJS.Signals | null; ms: number },
    code: number,
    p: CliProcess,
  ): void {
    assert.equal(exit.signal, null, `killed by ${exit.signal} instead of exiting\n${p.output}`);
    assert.equal(exit.code, code, p.output);
    assert.ok(exit.ms < PROMPT_MS, `took ${exit.ms} ms to stop\n${p.output}`);
  }

  before(async () => {
    assertBuilt();
    requireRealNode();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-cli-interrupt-'));
    const shared = await createNamespace('sp-cli-interrupt');
    ns = shared.name;
    cleanups.push(() => shared.dispose());
  });

  afterEach(() => {
    for (const p of running.splice(0)) p.kill();
  });

  after(async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('env create and deploy (the service never becomes ready: its container runs, its probe never passes)', () => {
    let baseline: string;
    let ws: string;

    before(async () => {
      baseline = await createBaseline(kube);
      cleanups.push(() => deleteNamespace(kube, baseline));
      ws = await exampleWithDeployment(
        (d) => {
          const c = (d.spec as { template: { spec: { containers: Array<Record<string, unknown>> } } }).template.spec
            .containers[0];
          c.readinessProbe = { exec: { command: ['false'] }, periodSeconds: 1 };
          // Its in-memory store (no PG*): the container runs in a namespace without the db too (deploy).
        },
        { db: false },
      );
      const yaml = path.join(ws, 'sandpiper.yaml');
      fs.writeFileSync(yaml, fs.readFileSync(yaml, 'utf8').replace('baseline: staging', `baseline: ${baseline}`));
      cleanups.push(() => fs.rmSync(ws, { recursive: true, force: true }));
    });

    it('env create: Ctrl+C exits 130 and deletes the half-made namespace', async () => {
      const name = uniqueName('sp-it-int');
      cleanups.push(() => deleteNamespace(kube, name));
      const p = cli(['env', 'create', '--namespace', name, '--owner', 'int@example.com', '--branch', 'interrupt'], {
        cwd: ws,
      });
      await p.waitFor(/Creating service tasks/, 120_000);
      assertStopped(await p.send('SIGINT'), 130, p);
      assert.match(p.stderr, new RegExp(`Deleting the half-made environment ${name}`));
      assert.match(p.stderr, /^sandpiper: cancelled$/m);
      assert.ok(await namespaceGoneOrGoing(name), `${name} was left behind`);
    });

    it('env create --keep-on-failure: SIGTERM exits 143 and keeps the namespace, as asked', async () => {
      const name = uniqueName('sp-it-int');
      cleanups.push(() => deleteNamespace(kube, name));
      const p = cli(
        [
          'env',
          'create',
          '--namespace',
          name,
          '--owner',
          'int@example.com',
          '--branch',
          'interrupt',
          '--keep-on-failure',
        ],
        { cwd: ws },
      );
      await p.waitFor(/Creating service tasks/, 120_000);
      assertStopped(await p.send('SIGTERM'), 143, p);
      assert.match(p.stderr, new RegExp(`Kept ${name} for inspection`));
      assert.equal(await namespaceGoneOrGoing(name), false);
    });

    it('deploy: Ctrl+C stops the wait for readiness with 130', async () => {
      const target = await createNamespace('sp-cli-int-deploy');
      cleanups.push(() => target.dispose());
      const p = cli(['deploy', '--namespace', target.name], { cwd: ws });
      await p.waitFor(/Deploying tasks/);
      await new Promise((r) => setTimeout(r, 500));
      assertStopped(await p.send('SIGINT'), 130, p);
    });
  });

  it('sync (watching): Ctrl+C exits 130 while it retries a pod it cannot exec into', async () => {
    const root = syncWorkspace(tmp);
    // A real container of an image without a shell: every exec into it fails.
    await deployApp(ns, 'web', NO_SHELL_IMAGE, { container: 'app', readinessPath: null });
    const p = cli(['sync', ns], { cwd: root });
    await p.waitFor(/syncing web into/);
    assertStopped(await p.send('SIGINT'), 130, p);
  });

  it('logs --follow: Ctrl+C exits 130', async () => {
    await createRealPod(ns, 'api-1', { labels: { app: 'api' }, containers: { app: talkerScript(['first line']) } });
    const p = cli(['logs', ns, '--service', 'api', '--follow']);
    await p.waitFor(/\[api-1\/app\] first line/);
    assertStopped(await p.send('SIGINT'), 130, p);
  });

  it('debug: Ctrl+C exits 130 and the forwarded port is closed', async () => {
    // The example's image runs node --inspect on 9229.
    await deployApp(ns, 'tasks', await exampleImage(), { ports: { debug: 9229 } });
    const dir = path.join(tmp, 'debug-ws');
    fs.mkdirSync(path.join(dir, 'k8s'), { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'sandpiper.yaml'),
      'services:\n  tasks:\n    manifests: k8s/\n    debug: { runtime: node, port: 9229, remoteRoot: /app }\n',
    );
    const p = cli(['--dir', dir, 'debug', ns, '--service', 'tasks']);
    await p.waitFor(/Forwarding 127\.0\.0\.1:\d+/);
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(p.stdout)![1]);
    assert.ok(await listening(port));
    assertStopped(await p.send('SIGINT'), 130, p);
    assert.equal(await listening(port), false, `port ${port} still open`);
  });

  describe('rollout', () => {
    before(async () => {
      await deployApp(ns, 'shop', BUSYBOX, { container: 'app', command: NAMED_HTTPD, readinessPath: '/' });
      await eventually(
        'shop available',
        async () =>
          ((await kube.apps.readNamespacedDeployment({ namespace: ns, name: 'shop' })).status?.availableReplicas ??
            0) >= 1,
      );
    });

    it('start: Ctrl+C stops driving with 130, releases the Lease and leaves the canary for `rollout continue`', async () => {
      const p = cli([
        'rollout',
        'start',
        'shop',
        '-n',
        ns,
        '--image',
        await exampleImage(),
        '--steps',
        '50,100',
        '--interval',
        '1h',
        '--prometheus',
        'http://127.0.0.1:9',
      ]);
      await p.waitFor(/· progressing step 1\/2/);
      assert.ok(await liveDriver(kube, ns, 'shop'), 'the driver holds the Lease while it drives');
      assertStopped(await p.send('SIGINT'), 130, p);
      assert.equal(await liveDriver(kube, ns, 'shop'), undefined, 'the Lease is still held');
      assert.equal((await readState(kube, ns, 'shop')).state?.status, 'progressing');
    });

    it('status --watch: Ctrl+C exits 130', async () => {
      const p = cli(['rollout', 'status', '--watch', '-n', ns]);
      await p.waitFor(/Deployment\s+shop\s/);
      assertStopped(await p.send('SIGINT'), 130, p);
    });
  });

  it('pr draft: Ctrl+C during the push exits 130 and stops git', async () => {
    const repo = TestRepo.create('sp-cli-int-pr-');
    cleanups.push(() => repo.remove());
    sampleProject(repo);
    // Owner/repo from a github.com URL (no host to approve); the push lands in the bare repo and hangs there.
    repo.git('remote', 'set-url', 'origin', 'https://github.com/acme/todo.git');
    repo.git('config', `url.file://${path.join(repo.tmp, 'remotes')}/.insteadOf`, 'https://github.com/');
    fs.writeFileSync(path.join(repo.bare, 'hooks/pre-receive'), '#!/bin/sh\nexec sleep 60\n', { mode: 0o755 });
    const env = {
      ...process.env,
      GITHUB_TOKEN: `ghp_${'Q7'.repeat(18)}`,
      GH_TOKEN: undefined,
      GITHUB_API_URL: undefined,
    };
    const p = cli(['pr', 'draft'], { cwd: repo.work, env });
    await p.waitFor(/Pushing feature\/42-add-due-dates to origin/);
    let git: number[] = [];
    await eventually('git push running', () => (git = p.children()).length > 0);
    assertStopped(await p.send('SIGINT'), 130, p);
    await eventually('git push gone', () => git.every((pid) => !isAlive(pid)), 5000);
    assert.deepEqual(repo.remoteBranches(), ['main'], 'the branch reached the remote');
  });

  describe('a verb without clean-up of its own, against an API server that never answers', () => {
    let silent: Awaited<ReturnType<typeof silentApiServer>>;
    before(async () => {
      silent = await silentApiServer(tmp);
    });
    after(() => silent.close());

    for (const [args, signal, code] of [
      [['env', 'list'], 'SIGINT', 130],
      [['janitor'], 'SIGINT', 130],
      [['env', 'list'], 'SIGTERM', 143],
    ] as const) {
      it(`${args.join(' ')}: the first ${signal} exits ${code} at once (it used to be swallowed)`, async () => {
        const seen = silent.connections();
        const p = cli(['--kubeconfig', silent.kubeconfig, ...args], { env: testbedEnv() });
        // Started: the CLI has loaded and its request to the server is open.
        await eventually('the CLI waiting on the server', () => silent.connections() > seen, 20_000, 50);
        assertStopped(await p.send(signal), code, p);
        assert.match(p.stderr, /^sandpiper: cancelled$/m);
      });
    }
  });
});
