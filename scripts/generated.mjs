// Files the build generates from a source of truth and commits (the schema validator, the controller manifest),
// and the run-as-main check the scripts share.
import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** Writes a generated file when its content differs; returns whether it did. */
export function writeGenerated(file, source) {
  const full = path.join(root, file);
  let current = '';
  try {
    current = readFileSync(full, 'utf8');
  } catch {
    // Not there yet.
  }
  if (current === source) return false;
  writeFileSync(full, source);
  return true;
}

/**
 * The command line of a generator script: `--check` fails (exit 1) while the committed file is stale, else the file
 * is rewritten when it changed.
 */
export function generatorMain({ file, source, script, tag }) {
  if (process.argv.includes('--check')) {
    if (readFileSync(path.join(root, file), 'utf8') !== source()) {
      console.error(`${file} is stale: run node ${script} (the build does) and commit it.`);
      process.exit(1);
    }
  } else if (writeGenerated(file, source())) {
    console.log(`[${tag}] wrote ${file}`);
  }
}

/**
 * Whether the module at `url` is the program node runs. argv[1] may name no file (VS Code's extension host imports
 * these scripts): then it is not.
 */
export function isMain(url) {
  try {
    return (
      !!process.argv[1] && existsSync(process.argv[1]) && url === pathToFileURL(realpathSync(process.argv[1])).href
    );
  } catch {
    return false;
  }
}
