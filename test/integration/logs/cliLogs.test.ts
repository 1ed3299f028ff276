// `sandpiper logs` on a real container of the testbed's real node: its lines come from the container runtime.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { createNamespace, testbedEnv } from '../../support/testbed';
import { eventually } from '../../support/wait';
import { createRealPod, say, talkerScript } from './talker';

const CLI = path.resolve(__dirname, '../../../bin/sandpiper.js');

describe('sandpiper logs (CLI) on the real node', function () {
  this.timeout(90_000);
  let ns: { name: string; dispose(): Promise<void> };

  before(async () => {
    ns = await createNamespace('sp-cli-logs');
    await createRealPod(ns.name, 'api-1', {
      labels: { app: 'api' },
      containers: { app: talkerScript(['line 1', 'line 2', 'line 3', 'line 4', 'line 5']) },
    });
  });

  after(async () => {
    await ns?.dispose();
  });

  it('prints the tail of every container with pod/container prefixes', async () => {
    const child = spawn(process.execPath, [CLI, 'logs', ns.name, '--tail', '2'], { env: testbedEnv() });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const code = await new Promise((r) => child.once('exit', r));
    assert.equal(code, 0);
    assert.equal(out, '[api-1/app] line 4\n[api-1/app] line 5\n');
  });

  it('follows with --follow and stops cleanly on Ctrl+C', async () => {
    const child = spawn(process.execPath, [CLI, 'logs', ns.name, '--service', 'api', '--follow', '--tail', '0'], {
      env: testbedEnv(),
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    // With a tail of 0 only lines printed after the CLI reads the log show: print until one does.
    await eventually(
      'the CLI following',
      async () => out.includes('\n') || void (await say(ns.name, 'api-1', ['followed line'])),
      30_000,
      1000,
    );
    assert.equal(out.split('\n')[0], '[api-1/app] followed line');
    assert.match(out, /^(\[api-1\/app\] followed line\n)+$/);
    child.kill('SIGINT');
    const code = await new Promise((r) => child.once('exit', r));
    // The CLI's one interrupt: Ctrl+C exits 130, as the shell reports it (test/integration/cli/interrupt.test.ts).
    assert.equal(code, 130);
  });
});
