import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createService, deploymentAvailable, testbedKube } from '../../support/canaryWorkspace';
import { MetricsTarget, waitForCanarySeries } from '../../support/metricsTarget';
import { sandpiper } from '../../support/cli';
import { createNamespace } from '../../support/testbed';

const kube = testbedKube();

describe('sandpiper rollout CLI on the testbed', function () {
  this.timeout(180_000);
  let ns: { name: string; dispose(): Promise<void> };
  let metrics: MetricsTarget;
  let cwd: string;

  before(async () => {
    assert.ok(
      fs.existsSync(path.resolve(__dirname, '../../../dist/cli.js')),
      'build the CLI first (node scripts/build.mjs --dev)',
    );
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-rollout-cli-'));
    ns = await createNamespace('rollout-cli');
    metrics = await new MetricsTarget(ns.name, 'web').start();
    await createService(kube, ns.name, 'web', { replicas: 2 });
    await deploymentAvailable(kube, ns.name, 'web', 2);
    await waitForCanarySeries(ns.name);
  });

  after(async () => {
    await metrics.dispose();
    await ns.dispose();
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('start drives a healthy canary to promotion and status shows it', async () => {
    const r = await sandpiper(
      ['rollout', 'start', 'web', '-n', ns.name, '--image', 'web:2', '--steps', '50,100', '--interval', '2s', '--json'],
      cwd,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { status: string }).status, 'promoted');
    assert.match(r.stderr, /traffic by replica ratio/);
    assert.match(r.stderr, /analysis pass/);
    const s = await sandpiper(['rollout', 'status', 'web', '-n', ns.name, '--json'], cwd);
    assert.equal(s.code, 0, s.stderr);
    const w = JSON.parse(s.stdout) as { images: string[]; canary: { status: string } };
    assert.deepEqual([w.images[0], w.canary.status], ['web:2', 'promoted']);
  });

  it('abort from another process ends a detached canary and restores stable', async () => {
    const started = await sandpiper(
      [
        'rollout',
        'start',
        'web',
        '-n',
        ns.name,
        '--image',
        'web:3',
        '--steps',
        '50,100',
        '--interval',
        '10m',
        '--detach',
      ],
      cwd,
    );
    assert.equal(started.code, 0, started.stderr);
    const a = await sandpiper(['rollout', 'abort', 'web', '-n', ns.name], cwd);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /canary of web: aborted/);
    const d = await kube.apps.readNamespacedDeployment({ namespace: ns.name, name: 'web' });
    assert.deepEqual([d.spec?.template.spec?.containers[0].image, d.spec?.replicas], ['web:2', 2]);
  });

  it('exits non-zero when the analysis rolls the canary back', async () => {
    metrics.tracks.canary.errorRate = 0.5;
    try {
      const r = await sandpiper(
        ['rollout', 'start', 'web', '-n', ns.name, '--image', 'web:bad', '--steps', '50,100', '--interval', '2s'],
        cwd,
      );
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, /analysis fail/);
      assert.match(r.stderr, /The canary of web was rolled back: analysis failed/);
      const d = await kube.apps.readNamespacedDeployment({ namespace: ns.name, name: 'web' });
      assert.equal(d.spec?.template.spec?.containers[0].image, 'web:2');
    } finally {
      metrics.tracks.canary.errorRate = 0;
    }
  });

  it('undo goes back to the previous revision', async () => {
    const r = await sandpiper(['rollout', 'undo', 'web', '-n', ns.name], cwd);
    assert.equal(r.code, 0, r.stderr);
    const d = await kube.apps.readNamespacedDeployment({ namespace: ns.name, name: 'web' });
    assert.equal(d.spec?.template.spec?.containers[0].image, 'web:1');
  });

  it('says what to do when there is no canary to promote', async () => {
    const r = await sandpiper(['rollout', 'promote', 'web', '-n', ns.name], cwd);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /has no canary in progress/);
    assert.match(r.stderr, /Start one with/);
  });
});
