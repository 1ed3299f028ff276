// Run by hardening.test.ts in a fresh Node process: prints the CPU time ratio of loading 16,000 against 4,000
// services. A fresh process measures the parser alone; inside the unit tier the heap the earlier tests left makes
// each garbage collection of the large input cost more, which once doubled the ratio.
import { strict as assert } from 'node:assert';
import { parseConfig } from '../../../src/core/config/loader';

const text = (n: number) =>
  `services:\n${Array.from({ length: n }, (_, i) => `  s${i}: { manifests: k8s/ }\n`).join('')}`;
// CPU time, best of a few: other processes on the machine only ever add to it.
const cpu = (t: string) => {
  const start = process.cpuUsage();
  assert.ok(parseConfig(t, '/ws').ok);
  const d = process.cpuUsage(start);
  return d.user + d.system;
};
const small = text(4_000);
const large = text(16_000);
cpu(small);
const best = (t: string, runs: number) => Math.min(...Array.from({ length: runs }, () => cpu(t)));
process.stdout.write(String(best(large, 5) / best(small, 5)));
