import { strict as assert } from 'node:assert';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';

// Run by test/e2e/trust.e2e.test.ts in a code-server that keeps Workspace Trust on and has not trusted the
// folder. In the trusted extension-host run this suite defines nothing (that run never is in Restricted Mode).
const untrusted = !vscode.workspace.isTrusted;

interface Manifest {
  capabilities?: { untrustedWorkspaces?: { supported?: unknown } };
}

if (untrusted) {
  describe('workspace trust: Restricted Mode', () => {
    const ws = () => vscode.workspace.workspaceFolders![0].uri.fsPath;

    before(async () => {
      await vscode.extensions.getExtension('sandpiper.sandpiper')?.activate();
    });

    it('runs Sandpiper in limited mode', () => {
      const ext = vscode.extensions.getExtension('sandpiper.sandpiper');
      assert.ok(ext?.isActive, 'Sandpiper is active in Restricted Mode');
      assert.equal((ext.packageJSON as Manifest).capabilities?.untrustedWorkspaces?.supported, 'limited');
    });

    it('still shows sandpiper.yaml problems as the file is edited', async () => {
      const file = path.join(ws(), 'sandpiper.yaml');
      await fs.writeFile(file, 'ttl: soon\nservices:\n  hello:\n    manifests: k8s/\n');
      const doc = await vscode.workspace.openTextDocument(file);
      await vscode.window.showTextDocument(doc);
      let problems: vscode.Diagnostic[] = [];
      for (let i = 0; i < 100 && !problems.length; i++) {
        await new Promise((r) => setTimeout(r, 100));
        problems = vscode.languages.getDiagnostics(doc.uri).filter((d) => d.source === 'sandpiper');
      }
      assert.deepEqual(
        problems.map((p) => [p.range.start.line, p.message]),
        [[0, 'ttl: "soon" is not a duration (use e.g. 200ms, 30s, 8h)']],
      );
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    });

    it('refuses to create an environment, saying why and offering Manage Workspace Trust', async () => {
      const shown: Array<{ message: string; items: unknown[] }> = [];
      const original = vscode.window.showWarningMessage;
      // The test shares the extension's API object: what the guard shows is seen here.
      (vscode.window as { showWarningMessage: unknown }).showWarningMessage = (
        message: string,
        ...items: unknown[]
      ) => {
        shown.push({ message, items });
        return Promise.resolve(undefined);
      };
      try {
        const result = await vscode.commands.executeCommand('sandpiper.env.create');
        assert.equal(result, undefined);
      } finally {
        (vscode.window as { showWarningMessage: unknown }).showWarningMessage = original;
      }
      assert.equal(shown.length, 1, JSON.stringify(shown));
      assert.match(shown[0].message, /trusted workspace/);
      assert.deepEqual(shown[0].items, ['Manage Workspace Trust']);
    });

    it('still initializes (it only reads and writes the workspace)', async () => {
      const dir = path.join(ws(), 'svc');
      await fs.mkdir(path.join(dir, 'k8s'), { recursive: true });
      await fs.writeFile(path.join(dir, 'package.json'), '{}');
      await fs.writeFile(
        path.join(dir, 'k8s', 'app.yaml'),
        'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: svc }\nspec:\n  template:\n    spec: ' +
          '{ containers: [{ name: svc, image: svc:1 }] }\n',
      );
      const written = await vscode.commands.executeCommand<string | undefined>('sandpiper.init', vscode.Uri.file(dir));
      assert.equal(written, path.join(dir, 'sandpiper.yaml'));
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    });

    it('ignores machine-scoped settings that the workspace sets', async () => {
      await fs.mkdir(path.join(ws(), '.vscode'), { recursive: true });
      await fs.writeFile(
        path.join(ws(), '.vscode', 'settings.json'),
        JSON.stringify({
          'sandpiper.kubeconfig': '/tmp/evil-kubeconfig',
          'sandpiper.prometheusUrl': 'http://evil.example',
          'sandpiper.github.baseUrl': 'https://evil.example/api/v3',
        }),
      );
      await new Promise((r) => setTimeout(r, 1500));
      const config = vscode.workspace.getConfiguration('sandpiper');
      assert.equal(config.get('kubeconfig'), '');
      assert.equal(config.get('prometheusUrl'), '');
      assert.equal(config.get('github.baseUrl'), '');
    });
  });
}
