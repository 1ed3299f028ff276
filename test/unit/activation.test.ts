import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const EXTENSION = path.join(ROOT, 'dist', 'extension.js');

// Loading and activating the built extension must not load the heavy libraries (client-node, dockerode,
// octokit, the CDP client): they are vendor bundles read on first use.
describe('activation', () => {
  before(function () {
    this.timeout(120_000);
    if (!existsSync(EXTENSION)) execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT });
  });

  it('loads and activates without loading a vendor bundle', () => {
    const probe = `
      require(${JSON.stringify(path.join(ROOT, 'bench', 'support', 'vscodeStandIn.cjs'))}).installVscodeStandIn();
      const ext = require(${JSON.stringify(EXTENSION)});
      const subscriptions = [];
      ext.activate({ subscriptions, workspaceState: { get() {}, update() {} }, globalState: { get() {}, update() {} }, extensionUri: {}, extensionPath: ${JSON.stringify(ROOT)} });
      process.stdout.write(JSON.stringify(Object.keys(require.cache).filter((f) => f.includes('/dist/vendor/'))));`;
    const loaded = JSON.parse(execFileSync(process.execPath, ['-e', probe], { cwd: ROOT, encoding: 'utf8' })) as string[];
    assert.deepEqual(loaded, []);
  });
});
