import * as fs from 'node:fs/promises';
import * as path from 'node:path';

// The `sandpiper` launcher of the integrated terminal (no vscode here: unit-tested with a real shell).

/** The files of the launcher folder: a small Node entry, and the shell (and Windows) wrappers that run it. */
export function launcherFiles(cli: string, runtime: string): Record<string, string> {
  const entry = [
    '// Written by the Sandpiper extension (kept up to date at each start): runs the CLI bundled in the extension.',
    '// The runtime flag is for this process only, not for what the CLI runs (git, docker).',
    'delete process.env.ELECTRON_RUN_AS_NODE;',
    `require(${JSON.stringify(cli)})`,
    '  .main(process.argv.slice(2))',
    '  .then((code) => {',
    '    process.exitCode = code;',
    '  });',
    '',
  ].join('\n');
  const sh = [
    '#!/bin/sh',
    '# Written by the Sandpiper extension at each start (its PATH entry in the integrated terminal).',
    'ELECTRON_RUN_AS_NODE=1',
    'export ELECTRON_RUN_AS_NODE',
    `exec ${shQuote(runtime)} "$(dirname "$0")/sandpiper.cjs" "$@"`,
    '',
  ].join('\n');
  const cmd = ['@echo off', 'set ELECTRON_RUN_AS_NODE=1', `"${runtime}" "%~dp0sandpiper.cjs" %*`, ''].join('\r\n');
  return { 'sandpiper.cjs': entry, sandpiper: sh, 'sandpiper.cmd': cmd };
}

/** Writes the launcher folder (each file renamed into place whole); a file already as it should be is kept. */
export async function writeLaunchers(folder: string, cli: string, runtime: string): Promise<void> {
  await fs.mkdir(folder, { recursive: true });
  for (const [name, text] of Object.entries(launcherFiles(cli, runtime))) {
    const file = path.join(folder, name);
    // Every activation runs this: after the first, the files are usually unchanged and only read.
    if ((await fs.readFile(file, 'utf8').catch(() => undefined)) === text) continue;
    // Written aside and renamed: a terminal running `sandpiper` meanwhile never sees half a file.
    const temp = `${file}.${process.pid}.tmp`;
    await fs.writeFile(temp, text, { mode: name === 'sandpiper' ? 0o755 : 0o644 });
    await fs.rename(temp, file);
  }
}

function shQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
