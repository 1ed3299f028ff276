import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createNamespace, logsFrom, testbedEnv, writeCriLogLine, type Disposable } from '../../support/testbed';
import { createPod } from '../portforward/kwokPods';

const CLI = path.resolve(__dirname, '../../../bin/sandpiper.js');

describe('sandpiper logs (CLI)', function () {
  this.timeout(90_000);
  let ns: { name: string; dispose(): Promise<void> };
  let dir: string;
  let file: string;
  const cleanups: Disposable[] = [];

  before(async () => {
    ns = await createNamespace('sp-cli-logs');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandpiper-cli-logs-'));
    file = path.join(dir, 'api-1.log');
    for (let i = 1; i <= 5; i++) writeCriLogLine(file, `line ${i}`);
    cleanups.push(await logsFrom(ns.name, 'api-1', 'app', file));
    await createPod(ns.name, 'api-1', 'api');
  });

  after(async () => {
    for (const c of cleanups) await c.dispose().catch(() => undefined);
    await ns?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
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
    await new Promise((r) => setTimeout(r, 2000));
    writeCriLogLine(file, 'followed line');
    const deadline = Date.now() + 20_000;
    while (!out.includes('followed line') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(out, '[api-1/app] followed line\n');
    child.kill('SIGINT');
    const code = await new Promise((r) => child.once('exit', r));
    // The CLI's one interrupt: Ctrl+C exits 130, as the shell reports it (test/integration/cli/interrupt.test.ts).
    assert.equal(code, 130);
  });
});
