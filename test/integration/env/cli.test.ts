import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { sandpiper } from '../../support/cli';
import { requireRealNode } from '../../support/realPods';
import { adminKube, createBaseline, deleteNamespace, runnableExample, uniqueName } from './baseline';

const kube = adminKube();

/**
 * The example's tasks (runnable on the real node) in a temp folder outside git, its baseline the test's namespace;
 * with `db: false`, on its in-memory store (a namespace without the db).
 */
async function workspace(baseline: string, o: { db?: boolean } = {}): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-cli-ws-'));
  fs.cpSync(await runnableExample(o), dir, { recursive: true });
  const file = path.join(dir, 'sandpiper.yaml');
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('baseline: staging', `baseline: ${baseline}`));
  return dir;
}

describe('sandpiper env CLI on the testbed', function () {
  this.timeout(180_000);
  let baseline: string;
  let ws: string;
  /** The workspace for a namespace without the example's db (deploy into an empty one). */
  let wsWithoutDb: string;
  const branch = uniqueName('cli');
  let name = '';

  before(async () => {
    assert.ok(
      fs.existsSync(path.resolve(__dirname, '../../../dist/cli.js')),
      'build the CLI first (node scripts/build.mjs --dev)',
    );
    requireRealNode();
    baseline = await createBaseline(kube);
    ws = await workspace(baseline);
    wsWithoutDb = await workspace(baseline, { db: false });
  });
  after(async () => {
    if (name) await deleteNamespace(kube, name);
    await deleteNamespace(kube, baseline);
  });

  it('env create prints progress on stderr and the environment as JSON', async () => {
    const r = await sandpiper(
      ['env', 'create', '--owner', 'cli@example.com', '--branch', branch, '--copy', 'db', '--ttl', '2h', '--json'],
      ws,
    );
    assert.equal(r.code, 0, r.stderr);
    const env = JSON.parse(r.stdout) as {
      name: string;
      owner: string;
      branch: string;
      ttl: string;
      dependencies: Record<string, string>;
    };
    name = env.name;
    assert.equal(env.owner, 'cli@example.com');
    assert.equal(env.branch, branch);
    assert.equal(env.ttl, '2h');
    assert.deepEqual(env.dependencies, { search: 'shared', db: 'copy' });
    assert.match(r.stderr, /✓ Ready: namespace sp-cli-/);
    assert.match(r.stderr, /✓ Ready: dependency db \(copy\)/);
    assert.match(r.stderr, /✓ Ready: service tasks/);
  });

  it('env list --json shows it', async () => {
    const r = await sandpiper(['env', 'list', '--json'], ws);
    assert.equal(r.code, 0, r.stderr);
    const envs = JSON.parse(r.stdout) as Array<{ name: string; expiresAt: string }>;
    const env = envs.find((e) => e.name === name);
    assert.ok(env, `${name} not in ${r.stdout}`);
    const left = Date.parse(env.expiresAt) - Date.now();
    assert.ok(left > 1.9 * 3_600_000 && left <= 2 * 3_600_000, `expires in ${left} ms`);
  });

  it('env list prints a table under a header row', async () => {
    const r = await sandpiper(['env', 'list'], ws);
    assert.equal(r.code, 0, r.stderr);
    const [header, ...rows] = r.stdout.trimEnd().split('\n');
    assert.match(header, /^NAME +OWNER +BRANCH +EXPIRES$/);
    const row = rows.find((l) => l.startsWith(`${name} `));
    assert.ok(row, r.stdout);
    // Columns line up under their header.
    assert.equal(row.indexOf('cli@example.com', name.length), header.indexOf('OWNER'), `${header}\n${row}`);
    assert.equal(row.indexOf(branch, name.length), header.indexOf('BRANCH'), `${header}\n${row}`);
  });

  it('env extend --by pushes the expiry out', async () => {
    const r = await sandpiper(['env', 'extend', name, '--by', '3h', '--json'], ws);
    assert.equal(r.code, 0, r.stderr);
    const left = Date.parse((JSON.parse(r.stdout) as { expiresAt: string }).expiresAt) - Date.now();
    assert.ok(left > 4.9 * 3_600_000 && left <= 5 * 3_600_000, `expires in ${left} ms`);
  });

  it('refuses to delete or extend a namespace Sandpiper does not own, with a one-line reason', async () => {
    for (const args of [
      ['env', 'delete', baseline, '--yes'],
      ['env', 'extend', baseline],
    ]) {
      const r = await sandpiper(args, ws);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        new RegExp(`^sandpiper: Namespace "${baseline}" is not a Sandpiper environment; Sandpiper leaves it alone.\\n`),
      );
    }
    assert.ok((await kube.core.readNamespace({ name: baseline })).metadata);
  });

  it('env create refuses to take over a namespace it does not own', async () => {
    const r = await sandpiper(['env', 'create', '--namespace', baseline, '--keep-on-failure'], ws);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `^sandpiper: Namespace "${baseline}" exists and is not a Sandpiper environment; Sandpiper leaves it alone\\.$`,
        'm',
      ),
    );
    const ns = await kube.core.readNamespace({ name: baseline });
    assert.equal(ns.metadata?.labels?.['app.kubernetes.io/managed-by'], undefined);
    assert.equal(ns.metadata?.annotations?.['sandpiper.dev/ttl'], undefined);
  });

  it('env create with a dependency the service does not have fails with exit 1 and a reason', async () => {
    const r = await sandpiper(
      ['env', 'create', '--owner', 'cli@example.com', '--branch', branch, '--copy', 'nope'],
      ws,
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^sandpiper: "tasks" has no dependency "nope" \(it has: search, db\)\./m);
  });

  it('env delete removes it and nothing else', async () => {
    const before = (await kube.core.listNamespace()).items.map((n) => n.metadata!.name!).filter((n) => n !== name);
    const r = await sandpiper(['env', 'delete', name, '--yes', '--wait'], ws);
    assert.equal(r.code, 0, r.stderr);
    await assert.rejects(kube.core.readNamespace({ name }), (e: { code?: number }) => e.code === 404);
    const after = new Set((await kube.core.listNamespace()).items.map((n) => n.metadata!.name!));
    for (const n of before) assert.ok(after.has(n) || n.startsWith('sp-'), `${n} disappeared`);
    name = '';
  });

  it('deploy applies the service into a namespace and waits for it', async () => {
    const target = uniqueName('sp-it-deploy');
    await kube.core.createNamespace({ body: { metadata: { name: target } } });
    try {
      const r = await sandpiper(['deploy', '--namespace', target], wsWithoutDb);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /✓ tasks is ready/);
      const dep = await kube.apps.readNamespacedDeployment({ name: 'tasks', namespace: target });
      assert.equal(dep.status?.readyReplicas, 1);
      // image: { build: . }: built (or found by its content tag) and pinned by digest.
      assert.match(
        dep.spec?.template.spec?.containers[0].image ?? '',
        /\/sandpiper-example\/tasks@sha256:[0-9a-f]{64}$/,
      );
      const [pod] = (await kube.core.listNamespacedPod({ namespace: target, labelSelector: 'app=tasks' })).items;
      assert.ok(pod.status?.containerStatuses?.[0].state?.running, 'the container runs on the real node');
      await kube.core.patchNamespace(
        { name: target, body: { metadata: { labels: { x: 'y' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } finally {
      await deleteNamespace(kube, target);
    }
  });
});
