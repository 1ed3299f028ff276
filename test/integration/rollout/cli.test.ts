import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { canaryImage, createService, routeThroughGateway, testbedKube } from '../../support/canaryWorkspace';
import { GatewayLoad } from '../../support/gatewayLoad';
import { exampleImage } from '../../support/images';
import { requireRealNode } from '../../support/realPods';
import { sandpiper } from '../../support/cli';
import { createNamespace } from '../../support/testbed';

const kube = testbedKube();

// The canary's first analysis comes one interval after `start`: long enough for its pod to start and be scraped twice.
const INTERVAL = '20s';

describe('sandpiper rollout CLI on the testbed (real node: the example image, traffic through the Gateway)', function () {
  this.timeout(180_000);
  let ns: { name: string; dispose(): Promise<void> };
  let edge: { name: string; dispose(): Promise<void> };
  let load: GatewayLoad;
  let cwd: string;
  let stable = '';
  let good = '';
  let bad = '';

  before(async function () {
    this.timeout(900_000); // the first run of a machine builds the example's images
    requireRealNode();
    assert.ok(
      fs.existsSync(path.resolve(__dirname, '../../../dist/cli.js')),
      'build the CLI first (node scripts/build.mjs --dev)',
    );
    [stable, good, bad] = await Promise.all([exampleImage(), canaryImage('good'), canaryImage('bad')]);
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-rollout-cli-'));
    ns = await createNamespace('rollout-cli');
    edge = await createNamespace('rollout-cli-edge');
    await createService(kube, ns.name, 'web', { replicas: 2 });
    // Requests through the Gateway (routed from another namespace: replica ratio) give the pods metrics to judge.
    load = new GatewayLoad(await routeThroughGateway(kube, ns.name, 'web', edge.name), { rps: 50 }).start();
    await load.settled('stable');
  });

  after(async () => {
    await load?.stop();
    await ns?.dispose();
    await edge?.dispose();
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('start drives a healthy canary to promotion and status shows it', async () => {
    const r = await sandpiper(
      [
        'rollout',
        'start',
        'web',
        '-n',
        ns.name,
        '--image',
        good,
        '--steps',
        '50,100',
        '--interval',
        INTERVAL,
        '--json',
      ],
      cwd,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { status: string }).status, 'promoted');
    assert.match(r.stderr, /traffic by replica ratio/);
    assert.match(r.stderr, /analysis pass/);
    const s = await sandpiper(['rollout', 'status', 'web', '-n', ns.name, '--json'], cwd);
    assert.equal(s.code, 0, s.stderr);
    const w = JSON.parse(s.stdout) as { images: string[]; canary: { status: string } };
    assert.deepEqual([w.images[0], w.canary.status], [good, 'promoted']);
    await load.settled('canary');
  });

  it('abort from another process ends a detached canary and restores stable', async () => {
    const started = await sandpiper(
      ['rollout', 'start', 'web', '-n', ns.name, '--image', bad, '--steps', '50,100', '--interval', '10m', '--detach'],
      cwd,
    );
    assert.equal(started.code, 0, started.stderr);
    const a = await sandpiper(['rollout', 'abort', 'web', '-n', ns.name], cwd);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /canary of web: aborted/);
    const d = await kube.apps.readNamespacedDeployment({ namespace: ns.name, name: 'web' });
    assert.deepEqual([d.spec?.template.spec?.containers[0].image, d.spec?.replicas], [good, 2]);
  });

  it('exits non-zero when the analysis rolls the canary back', async () => {
    const r = await sandpiper(
      ['rollout', 'start', 'web', '-n', ns.name, '--image', bad, '--steps', '50,100', '--interval', INTERVAL],
      cwd,
    );
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /analysis fail/);
    assert.match(r.stderr, /The canary of web was rolled back: analysis failed \(success rate 0 /);
    const d = await kube.apps.readNamespacedDeployment({ namespace: ns.name, name: 'web' });
    assert.equal(d.spec?.template.spec?.containers[0].image, good);
    await load.settled('canary');
  });

  it('undo goes back to the previous revision', async () => {
    const r = await sandpiper(['rollout', 'undo', 'web', '-n', ns.name], cwd);
    assert.equal(r.code, 0, r.stderr);
    const d = await kube.apps.readNamespacedDeployment({ namespace: ns.name, name: 'web' });
    assert.equal(d.spec?.template.spec?.containers[0].image, stable);
    await load.settled('stable');
  });

  it('says what to do when there is no canary to promote', async () => {
    const r = await sandpiper(['rollout', 'promote', 'web', '-n', ns.name], cwd);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /has no canary in progress/);
    assert.match(r.stderr, /Start one with/);
  });
});
