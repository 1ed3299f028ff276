// Proves the real-VS-Code harness with a trivial extension built in a temp folder:
// code-server starts, the workbench loads, a palette command shows its notification, and the
// extension-host runner passes a small suite and reports a failing one as exit code 1.
import { strict as assert } from 'node:assert';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { openWorkbench, runCommand, screenshot, waitForActivityBarIcon, waitForNotification } from './support/browser';
import { CodeServer, removeDir, repoRoot } from './support/codeServer';
import { runExtensionHostTests } from './support/exthost';

const EXTENSION_JS = `
const vscode = require('vscode');
exports.activate = function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand('harnessSmoke.hello', () =>
      vscode.window.showInformationMessage('Hello from the harness smoke extension (' + (process.env.SMOKE_MARKER || 'no marker') + ')')),
    vscode.window.registerTreeDataProvider('harnessSmoke.view', { getChildren: () => [], getTreeItem: (x) => x }),
  );
};
exports.deactivate = function deactivate() {};
`;

const PASSING_SUITE = `
const assert = require('assert');
const vscode = require('vscode');
describe('harness smoke (passing)', () => {
  it('runs inside the extension host with the vscode API', () => {
    assert.ok(vscode.version.startsWith('1.'), vscode.version);
    assert.equal(vscode.env.uiKind, vscode.UIKind.Web);
  });
  it('sees the test settings and the environment', () => {
    assert.equal(vscode.workspace.getConfiguration('debug').get('saveBeforeStart'), 'none');
    assert.equal(vscode.workspace.getConfiguration('harnessSmoke').get('fromTest'), 'yes');
    assert.equal(process.env.SMOKE_MARKER, 'marker-42');
  });
  it('has the development extension and its command', async () => {
    const ext = vscode.extensions.getExtension('sandpiper-test.harness-smoke');
    assert.ok(ext, 'extension not found');
    await ext.activate();
    const cmds = await vscode.commands.getCommands(true);
    assert.ok(cmds.includes('harnessSmoke.hello'));
    assert.equal(vscode.workspace.workspaceFolders?.[0]?.name, 'ws');
  });
});
`;

const FAILING_SUITE = `
const assert = require('assert');
describe('harness smoke (failing)', () => {
  it('passes', () => {});
  it('fails on purpose', () => { assert.equal(1 + 1, 3, 'intentional failure'); });
});
`;

describe('e2e harness smoke', function () {
  this.timeout(240_000);
  let tmp: string;
  let extDir: string;
  let workspace: string;

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'sandpiper-smoke-'));
    extDir = path.join(tmp, 'ext');
    workspace = path.join(tmp, 'ws');
    await fs.mkdir(path.join(extDir, 'media'), { recursive: true });
    await fs.mkdir(path.join(extDir, 'out', 'exthost'), { recursive: true });
    await fs.mkdir(workspace, { recursive: true });
    await fs.writeFile(path.join(workspace, 'README.md'), '# smoke workspace\n');
    await fs.writeFile(
      path.join(extDir, 'package.json'),
      JSON.stringify(
        {
          name: 'harness-smoke',
          displayName: 'Harness Smoke',
          publisher: 'sandpiper-test',
          version: '0.0.1',
          engines: { vscode: '^1.90.0' },
          main: './extension.js',
          activationEvents: ['onStartupFinished'],
          contributes: {
            commands: [{ command: 'harnessSmoke.hello', title: 'Harness Smoke: Say Hello' }],
            configuration: { properties: { 'harnessSmoke.fromTest': { type: 'string', default: 'no' } } },
            viewsContainers: { activitybar: [{ id: 'harnessSmoke', title: 'Harness Smoke', icon: 'media/icon.svg' }] },
            views: { harnessSmoke: [{ id: 'harnessSmoke.view', name: 'Smoke View' }] },
          },
        },
        null,
        2,
      ),
    );
    await fs.writeFile(path.join(extDir, 'extension.js'), EXTENSION_JS);
    await fs.writeFile(
      path.join(extDir, 'media', 'icon.svg'),
      '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><circle cx="12" cy="12" r="8" fill="currentColor"/></svg>',
    );
    await fs.writeFile(path.join(extDir, 'out', 'exthost', 'passing.js'), PASSING_SUITE);
    await fs.writeFile(path.join(extDir, 'out', 'exthost', 'failing.js'), FAILING_SUITE);
    // Bundle the real runner the way the root build does (mocha bundled in, vscode external).
    await build({
      entryPoints: [path.join(repoRoot(), 'test', 'exthost', 'runner', 'index.ts')],
      outfile: path.join(extDir, 'out', 'exthost', 'index.js'),
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external: ['vscode'],
      logLevel: 'error',
    });
  });

  after(async () => {
    if (tmp) await removeDir(tmp);
  });

  it('loads the workbench and runs a palette command that shows a notification', async () => {
    const t0 = Date.now();
    const server = await CodeServer.start({
      workspace,
      extensionDevelopmentPath: extDir,
      env: { SMOKE_MARKER: 'marker-42' },
    });
    const tStarted = Date.now();
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      const settings = JSON.parse(await fs.readFile(path.join(server.userDataDir, 'User', 'settings.json'), 'utf8'));
      assert.equal(settings['debug.saveBeforeStart'], 'none');
      const wb = await openWorkbench(server);
      try {
        const tWorkbench = Date.now();
        await waitForActivityBarIcon(wb.page, 'Harness Smoke');
        await runCommand(wb.page, 'Harness Smoke: Say Hello');
        await waitForNotification(wb.page, /Hello from the harness smoke extension \(marker-42\)/);
        const shot = await screenshot(wb.page, 'e2e-smoke-notification');
        assert.ok((await fs.stat(shot)).size > 1000);
        console.log(
          `      code-server start ${tStarted - t0} ms, workbench ${tWorkbench - tStarted} ms, command+notification ${Date.now() - tWorkbench} ms`,
        );
      } finally {
        await wb.close();
      }
    } finally {
      await server.stop();
      await server.stop(); // idempotent
    }
    await assert.rejects(fs.stat(server.tempDir), /ENOENT/);
  });

  it('runs an extension-host suite that passes (exit code 0)', async () => {
    const r = await runExtensionHostTests({
      extensionPath: extDir,
      testsPath: path.join(extDir, 'out', 'exthost', 'index.js'),
      workspace,
      env: { SMOKE_MARKER: 'marker-42', SANDPIPER_EXTHOST_SUITE: path.join(extDir, 'out', 'exthost', 'passing.js') },
      settings: { 'harnessSmoke.fromTest': 'yes' },
      timeoutMs: 180_000,
    });
    console.log(`      exthost suite (pass) ${r.durationMs} ms`);
    assert.equal(r.exitCode, 0, r.output);
    assert.match(r.output, /3 passing/, r.output);
  });

  it('reports a failing extension-host suite as exit code 1', async () => {
    const r = await runExtensionHostTests({
      extensionPath: extDir,
      testsPath: path.join(extDir, 'out', 'exthost', 'index.js'),
      workspace,
      env: { SANDPIPER_EXTHOST_SUITE: path.join(extDir, 'out', 'exthost', 'failing.js') },
      timeoutMs: 180_000,
    });
    console.log(`      exthost suite (fail) ${r.durationMs} ms`);
    assert.equal(r.exitCode, 1, r.output);
    assert.match(r.output, /intentional failure/, r.output);
  });
});
