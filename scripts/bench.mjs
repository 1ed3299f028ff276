// Runs the benchmarks (bench/*.bench.ts), each writing JSON into bench/results/.
// Usage: node scripts/bench.mjs [name-filter]. Cluster benchmarks use the testbed (npm run testbed:up).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { testbedVariables } from './testbed/env.mjs';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const filter = process.argv[2] ?? '';
const tbFile = path.join(root, '.sandpiper/testbed/testbed.json');
const tb = existsSync(tbFile) ? JSON.parse(readFileSync(tbFile, 'utf8')) : undefined;
const env = tb ? testbedVariables(tb) : {};
spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
let failed = 0;
for (const file of readdirSync(path.join(root, 'bench'))
  .filter((f) => f.endsWith('.bench.ts') && f.includes(filter))
  .sort()) {
  console.log(`\n== ${file}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', path.join('bench', file)], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...env },
  });
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
