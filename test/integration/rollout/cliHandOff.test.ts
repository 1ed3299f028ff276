import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { canaryImage, createService, testbedKube } from '../../support/canaryWorkspace';
import { requireRealNode } from '../../support/realPods';
import { sandpiper, type Run } from '../../support/cli';
import { createNamespace, testbedEnv } from '../../support/testbed';
import { eventually } from '../../support/wait';
import { CLIENT_DRIVER_NOTICE } from '../../../src/core/canary/handOff';
import { liveDriver } from '../../../src/core/canary/lease';
import { liveController } from '../../../src/core/canary/presence';
import { CANARY_STATE_ANNOTATION, readState } from '../../../src/core/canary/state';

const kube = testbedKube();
const BIN = path.resolve(__dirname, '../../../bin/sandpiper.js');

/** `sandpiper …args` left running: its output so far, and its exit once it ends. */
function started(args: string[], cwd: string) {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: testbedEnv() });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (b: Buffer) => (out.stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out.stderr += b.toString()));
  const exited = new Promise<Run>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), ...out })),
  );
  return { child, out, exited };
}

// Without an in-cluster controller (none is installed on the shared testbed outside the controller's own tests),
// `rollout start` drives the canary from the CLI and says so; `--driver controller` refuses before writing anything.
describe('sandpiper rollout start: who drives, with no canary controller in the cluster', function () {
  this.timeout(180_000);
  let ns: { name: string; dispose(): Promise<void> };
  let cwd: string;
  let good = '';

  before(async function () {
    this.timeout(900_000); // the first run of a machine builds the example's images
    requireRealNode();
    assert.ok(fs.existsSync(path.resolve(__dirname, '../../../dist/cli.js')), 'build the CLI first');
    // Another suite may have a controller installed for a while: its tests uninstall it in after().
    await eventually('no canary controller on the testbed', async () => !(await liveController(kube)), 150_000, 2000);
    good = await canaryImage('good');
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-rollout-handoff-'));
    ns = await createNamespace('rollout-handoff');
    await createService(kube, ns.name, 'web', { replicas: 1 });
  });

  after(async () => {
    await ns?.dispose();
    if (cwd) fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('--driver controller refuses, naming `sandpiper controller install`, and starts nothing', async () => {
    const r = await sandpiper(
      ['rollout', 'start', 'web', '-n', ns.name, '--image', good, '--driver', 'controller'],
      cwd,
    );
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /No canary controller runs in the cluster/);
    assert.match(r.stderr, /sandpiper controller install/);
    const d = await kube.apps.readNamespacedDeployment({ namespace: ns.name, name: 'web' });
    assert.equal(d.metadata?.annotations?.[CANARY_STATE_ANNOTATION], undefined);
  });

  it('--driver with an unknown value is a usage error', async () => {
    const r = await sandpiper(['rollout', 'start', 'web', '-n', ns.name, '--image', good, '--driver', 'cluster'], cwd);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /Use one of auto, controller, client/);
  });

  it('--driver auto drives from this CLI, says that stopping it pauses the rollout, and holds the Lease', async () => {
    const run = started(
      ['rollout', 'start', 'web', '-n', ns.name, '--image', good, '--steps', '50,100', '--interval', '10m'],
      cwd,
    );
    try {
      await eventually('the CLI holds the canary Lease', async () =>
        (await liveDriver(kube, ns.name, 'web'))?.startsWith('cli@'),
      );
      assert.ok(run.out.stderr.includes(CLIENT_DRIVER_NOTICE), run.out.stderr);
      assert.ok(
        run.out.stderr.indexOf(CLIENT_DRIVER_NOTICE) < run.out.stderr.indexOf('canary of web started'),
        'the notice comes before the start',
      );
      const { state } = await readState(kube, ns.name, 'web');
      assert.deepEqual([state?.driver, state?.status], ['client', 'progressing']);
    } finally {
      run.child.kill('SIGINT');
    }
    const end = await run.exited;
    assert.equal(end.code, 130, end.stderr);
    // Stopped: nobody drives it now, and it is rolled back from another process.
    assert.equal(await liveDriver(kube, ns.name, 'web'), undefined);
    const a = await sandpiper(['rollout', 'abort', 'web', '-n', ns.name], cwd);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /canary of web: aborted/);
  });
});
