// Extension-host test runner: VS Code loads this as `extensionTestsPath` and calls run().
//
// Build (esbuild, wired in the root build): bundle this file to out/exthost/index.js (platform node,
// format cjs, external: vscode, mocha bundled in) and the test files to out/exthost/suite.js (external:
// vscode). run() sets up mocha's BDD globals (describe/it/...) and then require()s ./suite.js next to
// this file (override with SANDPIPER_EXTHOST_SUITE=<abs path, or several separated by path.delimiter>).
//
// Output goes to console.log, which VS Code forwards to the workbench (window.codeAutomationLog in
// code-server, stdout under @vscode/test-electron); the exit code comes from run() resolving or rejecting.
import * as path from 'node:path';
import Mocha from 'mocha';

declare const __non_webpack_require__: NodeRequire | undefined;

function nodeRequire(): NodeRequire {
  // The real Node require, even when this file is bundled (esbuild keeps `require` in cjs output).
  return typeof __non_webpack_require__ === 'function' ? __non_webpack_require__ : require;
}

function suiteFiles(): string[] {
  const env = process.env.SANDPIPER_EXTHOST_SUITE;
  if (env)
    return env
      .split(path.delimiter)
      .filter(Boolean)
      .map((f) => path.resolve(f));
  return [path.join(__dirname, 'suite.js')];
}

export function run(): Promise<void> {
  const mocha = new Mocha({
    ui: 'bdd',
    color: false,
    timeout: Number(process.env.SANDPIPER_EXTHOST_TIMEOUT ?? 60_000),
    reporter: 'spec',
    grep: process.env.SANDPIPER_EXTHOST_GREP || undefined,
  });
  const req = nodeRequire();
  return new Promise<void>((resolve, reject) => {
    try {
      for (const file of suiteFiles()) {
        // Same as mocha.addFile + loadFiles, but the suite may be bundled: define the globals first.
        mocha.suite.emit('pre-require', globalThis, file, mocha);
        delete req.cache[req.resolve(file)];
        mocha.suite.emit('require', req(file), file, mocha);
        mocha.suite.emit('post-require', globalThis, file, mocha);
      }
    } catch (e) {
      console.error(`[exthost-runner] failed to load the suite: ${(e as Error)?.stack ?? e}`);
      reject(e);
      return;
    }
    try {
      mocha.run((failures) => {
        console.log(`[exthost-runner] ${failures} failing test(s)`);
        if (failures > 0) reject(new Error(`${failures} test(s) failed.`));
        else resolve();
      });
    } catch (e) {
      console.error(`[exthost-runner] mocha crashed: ${(e as Error)?.stack ?? e}`);
      reject(e);
    }
  });
}
