// Builds the production bundles and packs them into a .vsix (no node_modules inside), then prints its size.
// Usage: node scripts/package.mjs [--out file.vsix]
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const i = process.argv.indexOf('--out');
const out = path.resolve(root, i >= 0 ? process.argv[i + 1] : 'out/sandpiper.vsix');
mkdirSync(path.dirname(out), { recursive: true });
execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
execFileSync(
  process.execPath,
  [
    'node_modules/@vscode/vsce/vsce',
    'package',
    '--no-dependencies',
    '--skip-license',
    '--allow-missing-repository',
    '--out',
    out,
  ],
  { cwd: root, stdio: 'inherit' },
);
console.log(`[package] ${path.relative(root, out)}: ${Math.round(statSync(out).size / 1024)} KiB`);
