import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { NODE_APP, PodDebuggee } from '../../support/debugTarget';
import { requireRealNode } from '../../support/realPods';
import { testbedEnv } from '../../support/testbed';

const CLI = path.resolve(__dirname, '../../../bin/sandpiper.js');

describe('sandpiper debug (CLI)', function () {
  this.timeout(90_000);
  let debuggee: PodDebuggee;

  before(async function () {
    this.timeout(600_000); // the example's image is built on the first run
    requireRealNode();
    debuggee = await PodDebuggee.deploy(NODE_APP, 'sp-cli-debug');
  });

  after(async () => {
    await debuggee?.dispose();
  });

  it("forwards the example's debug port from its own sandpiper.yaml to the inspector in the pod, prints how to attach, and stops on Ctrl+C", async () => {
    const pod = await debuggee.podName();
    // The example's own sandpiper.yaml: services.tasks.debug is { runtime: node, port: 9229, remoteRoot: /app }.
    const child = spawn(process.execPath, [CLI, '--dir', NODE_APP.localRoot, 'debug', debuggee.namespace], {
      env: testbedEnv(),
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const deadline = Date.now() + 30_000;
    while (!/127\.0\.0\.1:(\d+)/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
    assert.ok(port, `no port in: ${out} ${err}`);
    assert.match(out, new RegExp(`-> tasks:9229 in ${debuggee.namespace} \\(pod ${pod}\\)`));
    // How to attach: js-debug's launch.json configuration on the forward, and chrome://inspect.
    const snippet = /add this configuration to \.vscode\/launch\.json[^\n]*\n([\s\S]*?\n {2}\})\n/.exec(out)?.[1];
    assert.ok(snippet, `no launch.json configuration in: ${out}`);
    assert.deepEqual(JSON.parse(snippet), {
      type: 'node',
      request: 'attach',
      name: `Attach to tasks (${debuggee.namespace})`,
      address: '127.0.0.1',
      port,
      localRoot: '${workspaceFolder}',
      remoteRoot: '/app',
      sourceMaps: true,
      restart: true,
      skipFiles: ['<node_internals>/**'],
      outFiles: ['${workspaceFolder}/**/*.(m|c|)js', '!**/node_modules/**'],
      resolveSourceMapLocations: ['${workspaceFolder}/**', '!**/node_modules/**'],
    });
    assert.match(out, new RegExp(`chrome://inspect.*127\\.0\\.0\\.1:${port}`));
    const version = (await (await fetch(`http://127.0.0.1:${port}/json/version`)).json()) as { Browser: string };
    assert.match(version.Browser, /^node\.js\/v20\./);
    // The inspector behind the forward is the example's server in the container (its image's WORKDIR is /app).
    const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{ url: string }>;
    assert.deepEqual(
      targets.map((t) => t.url),
      ['file:///app/dist/server.js'],
    );
    child.kill('SIGINT');
    const code = await new Promise((r) => child.once('exit', r));
    // The CLI's one interrupt: Ctrl+C exits 130, as the shell reports it (test/integration/cli/interrupt.test.ts).
    assert.equal(code, 130, err);
  });
});
