// Builds the production bundles and packs them into a .vsix (no node_modules inside), then prints its size.
// Usage: node scripts/package.mjs [--out file.vsix] [--if-changed]
//   --if-changed: do nothing when the .vsix is newer than every file it is made from (npm start's warm path).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, utimesSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMain } from './generated.mjs';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** What the bundles in dist/ and the .vsix are made from (see .vscodeignore and scripts/build.mjs). */
const INPUTS = [
  'src',
  'webview-ui',
  'media',
  'resources',
  'package.json',
  'package-lock.json',
  'README.md',
  'LICENSE',
  '.vscodeignore',
  'scripts/build.mjs',
  'scripts/lazyVendors.mjs',
  'scripts/schemaValidator.mjs',
  'scripts/package.mjs',
];

function newestUnder(entry) {
  let st;
  try {
    st = statSync(entry);
  } catch {
    return { file: entry, mtimeMs: 0 };
  }
  if (!st.isDirectory()) return { file: entry, mtimeMs: st.mtimeMs };
  let newest = { file: entry, mtimeMs: 0 };
  for (const name of readdirSync(entry)) {
    const n = newestUnder(path.join(entry, name));
    if (n.mtimeMs > newest.mtimeMs) newest = n;
  }
  return newest;
}

/** The most recently modified input of the build (its path relative to the repo and its mtime). */
export function newestBuildInput() {
  let newest = { file: '', mtimeMs: 0 };
  for (const rel of INPUTS) {
    const n = newestUnder(path.join(root, rel));
    if (n.mtimeMs > newest.mtimeMs) newest = n;
  }
  return { file: path.relative(root, newest.file), mtimeMs: newest.mtimeMs };
}

/** Why `output` (a .vsix or a bundle) must be rebuilt, or null when it is newer than every build input. */
export function staleReason(output) {
  let built;
  try {
    built = statSync(output).mtimeMs;
  } catch {
    return `${path.relative(root, output)} does not exist`;
  }
  const newest = newestBuildInput();
  return newest.mtimeMs > built ? `${newest.file} changed since ${path.relative(root, output)} was built` : null;
}

function main(argv) {
  const i = argv.indexOf('--out');
  const out = path.resolve(root, i >= 0 ? argv[i + 1] : 'out/sandpiper.vsix');
  if (argv.includes('--if-changed')) {
    const why = staleReason(out);
    if (!why) {
      console.log(`[package] ${path.relative(root, out)} is up to date`);
      return;
    }
    console.log(`[package] ${why}`);
  }
  mkdirSync(path.dirname(out), { recursive: true });
  const started = new Date();
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
  // Stamped with the build's start: a file saved while it ran leaves the .vsix stale, as it is.
  utimesSync(out, started, started);
  console.log(`[package] ${path.relative(root, out)}: ${Math.round(statSync(out).size / 1024)} KiB`);
}

if (isMain(import.meta.url)) main(process.argv.slice(2));
