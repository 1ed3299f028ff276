import { strict as assert } from 'node:assert';
import * as vscode from 'vscode';
import { panelHtml } from '../../src/features/rollout/panel';

const EXTENSION_ID = 'sandpiper.sandpiper';

describe('rollout panel (extension host)', () => {
  let extension: vscode.Extension<unknown>;

  before(async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} is not installed`);
    await ext.activate();
    extension = ext;
  });

  it('contributes and registers the rollout commands', async () => {
    const all = await vscode.commands.getCommands(true);
    for (const id of [
      'sandpiper.rollout.start',
      'sandpiper.rollout.promote',
      'sandpiper.rollout.abort',
      'sandpiper.rollout.skipStep',
      'sandpiper.rollouts.focus',
    ])
      assert.ok(all.includes(id), id);
  });

  it('opens the Rollouts view', async () => {
    await vscode.commands.executeCommand('sandpiper.rollouts.focus');
  });

  it("serves its page with a strict CSP: no source but the nonce'd script and its own assets", () => {
    const panel = vscode.window.createWebviewPanel('sandpiper.rolloutCspTest', 'csp', vscode.ViewColumn.One, {
      enableScripts: true,
    });
    try {
      const assets = vscode.Uri.joinPath(extension.extensionUri, 'dist', 'webview');
      const html = panelHtml(panel.webview, assets, vscode.Uri.joinPath);
      const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? '';
      assert.match(csp, /^default-src 'none'; /);
      const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
      assert.ok(nonce && nonce.length >= 16, 'script-src by nonce');
      assert.doesNotMatch(csp, /unsafe-eval|script-src[^;]*unsafe-inline/);
      const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1]);
      assert.equal(scripts.length, 1);
      assert.ok(scripts[0].includes(`nonce="${nonce}"`) && scripts[0].includes('rollout.js'));
      // A second render gets a fresh nonce.
      assert.notEqual(/nonce-([^']+)/.exec(panelHtml(panel.webview, assets, vscode.Uri.joinPath))?.[1], nonce);
    } finally {
      panel.dispose();
    }
  });
});
