import { strict as assert } from 'node:assert';
import * as vscode from 'vscode';

const EXTENSION_ID = 'sandpiper.sandpiper';
// The workbench adds these per view; they are not ours to register.
const VIEW_COMMAND_SUFFIXES = ['focus', 'open', 'resetViewLocation', 'toggleVisibility', 'removeView'];

interface PackageJson {
  contributes: {
    commands: Array<{ command: string; title: string; category?: string }>;
    views: Record<string, Array<{ id: string }>>;
  };
}

describe('commands', () => {
  let pkg: PackageJson;

  before(async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} is not installed`);
    await ext.activate();
    pkg = ext.packageJSON as PackageJson;
  });

  it('registers exactly the commands package.json contributes', async () => {
    const viewIds = Object.values(pkg.contributes.views)
      .flat()
      .map((v) => v.id);
    const workbenchMade = new Set(viewIds.flatMap((id) => VIEW_COMMAND_SUFFIXES.map((s) => `${id}.${s}`)));
    const registered = (await vscode.commands.getCommands(true))
      .filter((c) => c.startsWith('sandpiper.') && !workbenchMade.has(c))
      .sort();
    const contributed = pkg.contributes.commands.map((c) => c.command).sort();
    assert.deepEqual(registered, contributed);
  });

  it('gives every contributed command a title in the Sandpiper category', () => {
    for (const c of pkg.contributes.commands) {
      assert.equal(c.category, 'Sandpiper', c.command);
      assert.ok(c.title.length > 3, c.command);
    }
  });
});
