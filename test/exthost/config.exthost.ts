import { strict as assert } from 'node:assert';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';

async function diagnosticsFor(
  uri: vscode.Uri,
  until: (d: readonly vscode.Diagnostic[]) => boolean,
): Promise<readonly vscode.Diagnostic[]> {
  for (let i = 0; i < 100; i++) {
    const d = vscode.languages.getDiagnostics(uri).filter((x) => x.source === 'sandpiper');
    if (until(d)) return d;
    await new Promise((r) => setTimeout(r, 100));
  }
  return vscode.languages.getDiagnostics(uri).filter((x) => x.source === 'sandpiper');
}

describe('sandpiper.yaml diagnostics', () => {
  it('shows problems at their line as the file is edited, and clears them when fixed', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sandpiper-diag-'));
    const file = path.join(dir, 'sandpiper.yaml');
    await fs.writeFile(file, 'services:\n  tasks:\n    manifests: k8s/\n');
    const doc = await vscode.workspace.openTextDocument(file);
    const editor = await vscode.window.showTextDocument(doc);
    assert.equal((await diagnosticsFor(doc.uri, (d) => d.length === 0)).length, 0);

    await editor.edit((e) => e.insert(new vscode.Position(3, 0), '    dependencies: { mongo: borrowed }\nttl: soon\n'));
    const problems = await diagnosticsFor(doc.uri, (d) => d.length === 2);
    assert.deepEqual(
      problems.map((p) => [p.range.start.line, p.message]),
      [
        [3, 'services.tasks.dependencies.mongo: dependency mode must be shared or copy, not "borrowed"'],
        [4, 'ttl: "soon" is not a duration (use e.g. 200ms, 30s, 8h)'],
      ],
    );

    await editor.edit((e) => e.replace(new vscode.Range(3, 0, 5, 0), '    dependencies: { mongo: copy }\nttl: 2h\n'));
    assert.equal((await diagnosticsFor(doc.uri, (d) => d.length === 0)).length, 0);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    await fs.rm(dir, { recursive: true, force: true });
  });
});
