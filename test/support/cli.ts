// The built CLI (bin/sandpiper.js) run as a user runs it, against the testbed.
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { testbedEnv } from './testbed';

const BIN = path.resolve(__dirname, '../../bin/sandpiper.js');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `sandpiper …args` in `cwd` with the testbed's environment; resolves with its exit code and output. */
export function sandpiper(args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, env: testbedEnv(), timeout: 170_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}
