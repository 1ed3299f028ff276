import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { inspectorWebSocketUrl } from '../../../src/debugAdapter/node/cdp';
import { DebugTarget } from '../../support/debugTarget';
import { createNamespace, testbedEnv, type Disposable } from '../../support/testbed';
import { tasksPodForwardedTo } from '../portforward/kwokPods';

const CLI = path.resolve(__dirname, '../../../bin/sandpiper.js');

describe('sandpiper debug (CLI)', function () {
  this.timeout(90_000);
  let ns: { name: string; dispose(): Promise<void> };
  let target: DebugTarget;
  let dir: string;
  const cleanups: Disposable[] = [];

  before(async () => {
    target = await DebugTarget.start();
    ns = await createNamespace('sp-cli-debug');
    cleanups.push(await tasksPodForwardedTo(ns.name, target.inspectPort));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandpiper-cli-debug-'));
    fs.mkdirSync(path.join(dir, 'k8s'));
    fs.writeFileSync(
      path.join(dir, 'sandpiper.yaml'),
      'baseline: staging\nservices:\n  tasks:\n    manifests: k8s/\n    debug: { runtime: node, port: 9229, remoteRoot: /app }\n',
    );
  });

  after(async () => {
    for (const c of cleanups) await c.dispose().catch(() => undefined);
    await target?.dispose();
    await ns?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('prints the forwarded port, reaches the inspector through it, and stops on Ctrl+C', async () => {
    const child = spawn(process.execPath, [CLI, '--dir', dir, 'debug', ns.name, '--service', 'tasks'], {
      env: testbedEnv(),
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const deadline = Date.now() + 20_000;
    while (!/127\.0\.0\.1:(\d+)/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
    assert.ok(port, `no port in: ${out} ${err}`);
    assert.match(out, /-> tasks:9229 in .* \(pod tasks-1\)/);
    assert.match(
      await inspectorWebSocketUrl('127.0.0.1', port, 10_000),
      new RegExp(`^ws://127\\.0\\.0\\.1:${port}/[0-9a-f-]+$`),
    );
    child.kill('SIGINT');
    const code = await new Promise((r) => child.once('exit', r));
    // The CLI's one interrupt: Ctrl+C exits 130, as the shell reports it (test/integration/cli/interrupt.test.ts).
    assert.equal(code, 130, err);
  });
});
