import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const EXTENSION = path.join(ROOT, 'dist', 'extension.js');

interface Probe {
  vendors: string[];
  builtins: string[];
  /** Vendor bundles loaded once a command that needs no library (sync.pause) has loaded the features. */
  vendorsAfterFirstUse: string[];
}

/** Loads and activates the built extension in a fresh Node with a vscode stand-in; says what that loaded. */
function probe(): Probe {
  const script = `
    require(${JSON.stringify(path.join(ROOT, 'bench', 'support', 'vscodeStandIn.cjs'))}).installVscodeStandIn();
    const handlers = {};
    require('vscode').commands = { registerCommand: (id, fn) => ((handlers[id] = fn), { dispose() {} }), executeCommand: async () => undefined };
    const ext = require(${JSON.stringify(EXTENSION)});
    const subscriptions = [];
    const packageJSON = require(${JSON.stringify(path.join(ROOT, 'package.json'))});
    ext.activate({ subscriptions, workspaceState: { get() {}, update() {} }, globalState: { get() {}, update() {} }, extensionUri: {}, extensionPath: ${JSON.stringify(ROOT)}, extension: { packageJSON } });
    const builtins = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13));
    const loadedVendors = () => Object.keys(require.cache).filter((f) => f.includes('/dist/vendor/'));
    const vendors = loadedVendors();
    handlers['sandpiper.sync.pause']().then(() => process.stdout.write(JSON.stringify({ vendors, builtins, vendorsAfterFirstUse: loadedVendors() })));`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' })) as Probe;
}

// Activation registers stand-ins for what package.json contributes; the features, and the heavy libraries
// (client-node, dockerode, octokit, yaml, ajv, ...) bundled apart in dist/vendor, load on first use.
describe('activation', () => {
  let loaded: Probe;

  before(function () {
    this.timeout(120_000);
    if (!existsSync(EXTENSION)) execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT });
    loaded = probe();
  });

  it('loads and activates without loading a vendor bundle', () => {
    assert.deepEqual(loaded.vendors, []);
  });

  it('loads the features on first use without loading a library that use does not need', () => {
    assert.deepEqual(loaded.vendorsAfterFirstUse, []);
  });

  it('evaluates no feature code: nothing that speaks HTTP or runs processes is loaded', () => {
    assert.deepEqual(
      loaded.builtins.filter((m) => ['http', 'https', 'child_process'].includes(m)),
      [],
    );
  });
});
