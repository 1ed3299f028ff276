// debugpy for the Python debug tests: installed once per version into the testbed cache with pip --target,
// so a test puts it on PYTHONPATH and runs `python3 -m debugpy --listen ...` without touching site-packages.
import fs from 'node:fs';
import path from 'node:path';
import { CACHE, log, mkdirp, sh, which } from '../lib.mjs';

export const DEBUGPY_VERSION = '1.8.22';

/** Where this debugpy version lives (a PYTHONPATH entry holding the `debugpy` package). */
export function debugpyPath() {
  return path.join(CACHE, 'python', `debugpy-${DEBUGPY_VERSION}`);
}

function python() {
  return which('python3') || 'python3';
}

/** Installs debugpy into the cache unless it is already there; returns a note for the phase timings. */
export async function installDebugpy() {
  const dir = debugpyPath();
  const marker = path.join(dir, '.sandpiper-installed');
  if (fs.existsSync(marker)) return `cached ${dir}`;
  // Install into a scratch dir and rename, so an interrupted pip never leaves a half-installed cache entry.
  const scratch = `${dir}.partial-${process.pid}`;
  fs.rmSync(scratch, { recursive: true, force: true });
  mkdirp(path.dirname(dir));
  log(`pip install debugpy==${DEBUGPY_VERSION} → ${dir}`);
  sh(python(), [
    '-m',
    'pip',
    'install',
    '--quiet',
    '--disable-pip-version-check',
    '--no-warn-script-location',
    '--target',
    scratch,
    `debugpy==${DEBUGPY_VERSION}`,
  ]);
  sh(
    python(),
    ['-c', 'import debugpy, sys; sys.exit(0 if debugpy.__version__ == sys.argv[1] else 1)', DEBUGPY_VERSION],
    {
      env: { ...process.env, PYTHONPATH: scratch },
    },
  );
  fs.writeFileSync(path.join(scratch, '.sandpiper-installed'), `${DEBUGPY_VERSION}\n`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(scratch, dir);
  return `installed ${dir}`;
}
