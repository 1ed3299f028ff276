import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';

const RESULTS = path.join(__dirname, '..', 'results');

/** Writes one benchmark's figures to bench/results/<name>.json, with when and where they were taken. */
export function writeResult(name: string, figures: Record<string, unknown>): void {
  mkdirSync(RESULTS, { recursive: true });
  const record = {
    name,
    takenAt: new Date().toISOString(),
    machine: { cpus: os.cpus().length, node: process.version },
    ...figures,
  };
  writeFileSync(path.join(RESULTS, `${name}.json`), `${JSON.stringify(record, null, 2)}\n`);
  console.log(`[bench] ${name}: ${JSON.stringify(figures)}`);
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function median(values: number[]): number {
  return percentile(values, 50);
}
