import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { median, writeResult } from './support/results';

// Each sample is a fresh Node process: load dist/extension.js (with a vscode stand-in) and call activate().
const ROOT = path.join(__dirname, '..');
const EXTENSION = path.join(ROOT, 'dist', 'extension.js');
const PROBE = `
const { installVscodeStandIn } = require(${JSON.stringify(path.join(__dirname, 'support', 'vscodeStandIn.cjs'))});
installVscodeStandIn();
const t0 = process.hrtime.bigint();
const ext = require(${JSON.stringify(EXTENSION)});
const t1 = process.hrtime.bigint();
const subscriptions = [];
ext.activate({ subscriptions, workspaceState: { get() {}, update() {} }, globalState: { get() {}, update() {} }, extensionUri: {}, extensionPath: ${JSON.stringify(ROOT)}, extension: { packageJSON: require(${JSON.stringify(path.join(ROOT, 'package.json'))}) } });
const t2 = process.hrtime.bigint();
for (const s of subscriptions) { try { s.dispose(); } catch {} }
const vendors = Object.keys(require.cache).filter((f) => f.includes('/dist/vendor/')).map((f) => f.split('/').pop());
process.stdout.write(JSON.stringify({ loadMs: Number(t1 - t0) / 1e6, activateMs: Number(t2 - t1) / 1e6, vendors }));
`;

// 31 runs: on a shared 2-core machine a median of 15 still moves by a third from one run to the next.
const runs = Number(process.env.BENCH_RUNS ?? 31);
const samples: Array<{ loadMs: number; activateMs: number; vendors: string[] }> = [];
for (let i = 0; i < runs; i++) {
  const out = execFileSync(process.execPath, ['-e', PROBE], { cwd: ROOT, encoding: 'utf8' });
  samples.push(JSON.parse(out));
}
const vsix = path.join(ROOT, 'out', 'sandpiper.vsix');
writeResult('activation', {
  runs,
  extensionJsKB: Math.round(statSync(EXTENSION).size / 1024),
  loadMedianMs: +median(samples.map((s) => s.loadMs)).toFixed(1),
  activateMedianMs: +median(samples.map((s) => s.activateMs)).toFixed(2),
  vendorBundlesLoadedByActivation: [...new Set(samples.flatMap((s) => s.vendors))],
  vsixKiB: existsSync(vsix) ? Math.round(statSync(vsix).size / 1024) : null,
  // The machine is shared: a 1-minute load average well above its core count inflates every figure above.
  loadAverage1m: +os.loadavg()[0].toFixed(2),
});
