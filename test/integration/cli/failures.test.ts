// A verb whose work failed exits non-zero and says why in one plain line: no exit 0 after a failed sync, no
// raw client-node dump ("HTTP-Code … Body … Headers"), no NaN from a junk flag reaching the cluster.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readState } from '../../../src/core/canary/state';
import { testbedKube } from '../../support/canaryWorkspace';
import { deployApp } from '../../support/realPods';
import { createNamespace, loadTestbed } from '../../support/testbed';
import { eventually } from '../../support/wait';
import { BUSYBOX, NO_SHELL_IMAGE, createRealPod } from '../logs/talker';
import { CliProcess, assertBuilt, syncWorkspace } from './cliProcess';

const DUMP = /HTTP-Code|Headers:|Body:|"kind":"Status"/;
const kube = testbedKube();

async function run(args: string[], cwd: string, limitMs = 60_000): Promise<CliProcess & { code: number | null }> {
  const p = new CliProcess(args, { cwd });
  const timer = setTimeout(() => p.kill(), limitMs);
  const exit = await p.exited;
  clearTimeout(timer);
  return Object.assign(p, { code: exit.code });
}

describe('CLI verbs that fail exit non-zero with a plain message (real node)', function () {
  this.timeout(120_000);
  let ns: { name: string; dispose(): Promise<void> };
  let tmp: string;

  before(async () => {
    assertBuilt();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-cli-failures-'));
    ns = await createNamespace('sp-cli-failures');
  });
  after(async () => {
    await ns?.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('sync --once into a pod it cannot exec into exits 1 and never says the pods are in step', async () => {
    const root = syncWorkspace(tmp);
    // A real container of an image without a shell: every exec into it fails.
    await deployApp(ns.name, 'web', NO_SHELL_IMAGE, { container: 'app', readinessPath: null });
    const r = await run(['sync', ns.name, '--once'], root);
    assert.equal(r.code, 1, r.output);
    assert.match(r.stderr, /^sandpiper: .*web-/m);
    assert.doesNotMatch(r.stdout, /in step/, 'a failed sync is reported as done');
    assert.doesNotMatch(r.stdout + r.stderr, DUMP);
  });

  it('logs of a container whose log the server refuses (400) exits 1 at once with one plain line', async () => {
    // Its image cannot be pulled, and the pod's deadline fails it: the kubelet refuses the log of a container
    // that never ran ("… is terminated").
    await createRealPod(ns.name, 'nolog-1', {
      labels: { app: 'nolog' },
      image: `${loadTestbed().registry}/nope:1`,
      spec: { activeDeadlineSeconds: 2 },
      wait: 'none',
    });
    // The phase turns Failed a moment before the container's state does (until then the kubelet says "is waiting
    // to start"): wait for both.
    await eventually(
      'nolog-1 Failed with its container terminated',
      async () => {
        const st = (await kube.core.readNamespacedPod({ namespace: ns.name, name: 'nolog-1' })).status;
        return st?.phase === 'Failed' && !!st.containerStatuses?.[0]?.state?.terminated;
      },
      60_000,
    );
    const r = await run(['logs', ns.name, '--service', 'nolog'], tmp, 20_000);
    assert.equal(r.code, 1, r.output);
    assert.match(r.stderr, /^sandpiper: Could not read the log of nolog-1\/app: HTTP 400: .+$/m);
    assert.match(r.stderr, /container "app" in pod "nolog-1" is terminated/, `the kubelet says why: ${r.stderr}`);
    assert.doesNotMatch(r.stdout + r.stderr, DUMP);
  });

  it('logs --follow reports the refusal as a plain notice while it keeps trying', async () => {
    const p = new CliProcess(['logs', ns.name, '--service', 'nolog', '--follow'], { cwd: tmp });
    try {
      await p.waitFor(/nolog-1\/app: Could not read the log of nolog-1\/app: HTTP 400: .+; retrying/);
      assert.doesNotMatch(p.stdout + p.stderr, DUMP);
      assert.equal((await p.send('SIGINT')).code, 130, p.output);
    } finally {
      p.kill();
    }
  });

  it('a junk number for a flag is refused before anything is touched (exit 2, the flag named)', async () => {
    await deployApp(ns.name, 'shop', BUSYBOX, { command: ['sleep', '3600'], readinessPath: null, waitReady: 0 });
    for (const [flag, value] of [
      ['--failure-limit', 'abc'],
      ['--interval', '5x'],
      ['--steps', '10,abc'],
      ['--window', 'soon'],
    ]) {
      const r = await run(
        [
          'rollout',
          'start',
          'shop',
          '-n',
          ns.name,
          '--image',
          BUSYBOX,
          '--prometheus',
          'http://127.0.0.1:9',
          flag,
          value,
        ],
        tmp,
      );
      assert.equal(r.code, 2, r.output);
      assert.match(r.stderr, new RegExp(`option '${flag} <[a-z]+>' argument '${value}' is invalid`));
    }
    assert.equal((await readState(kube, ns.name, 'shop')).state, undefined, 'a canary was started');
    const tail = await run(['logs', ns.name, '--tail', 'lots'], tmp);
    assert.equal(tail.code, 2, tail.output);
    assert.match(tail.stderr, /option '--tail <n>' argument 'lots' is invalid\. Use a whole number of -1 or more\./);
  });
});
