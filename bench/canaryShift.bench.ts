// Zero-error canary shifts on the real node (issue 16): steady traffic through the Gateway (Traefik) to an
// HTTPRoute's hostname, no retries, while a built-in canary of the Todo example's tasks service is promoted, rolled
// back by its analysis (a build whose GET /tasks answers 500) and aborted by hand mid-step. Figures: failed/total
// requests in each (failed = answered by neither build: the Gateway's 5xx, connection errors, timeouts; the bad
// build's own 500s are counted apart), and the rollback time from the failed analysis (its `analysis-aborted`
// history time) to the route back at 0 % canary and to the Gateway's last canary answer (only stable after it).
// Writes bench/results/canaryShift.json. CANARY_SHIFT_ROUNDS repeats each shift (default 1).
import { canaryImage } from '../test/support/canaryWorkspace';
import { exampleImage } from '../test/support/images';
import { requireRealNode } from '../test/support/realPods';
import { shiftUnderLoad, type Shift, type ShiftFigures } from '../test/support/shiftUnderLoad';
import { median, writeResult } from './support/results';

const ROUNDS = Number(process.env.CANARY_SHIFT_ROUNDS ?? 1);
const RPS = Number(process.env.CANARY_SHIFT_RPS ?? 30);

function summary(runs: ShiftFigures[]) {
  const sum = (f: (r: ShiftFigures) => number) => runs.reduce((a, r) => a + f(r), 0);
  const failures: Record<string, number> = {};
  for (const r of runs) for (const [k, n] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + n;
  return {
    outcomes: runs.map((r) => r.outcome),
    failed: sum((r) => r.failed),
    total: sum((r) => r.total),
    failures,
    servedByCanary: sum((r) => r.servedByCanary),
    servedByStable: sum((r) => r.servedByStable),
    durationMs: runs.map((r) => r.durationMs),
  };
}

async function main() {
  requireRealNode();
  await Promise.all([exampleImage(), canaryImage('good'), canaryImage('bad')]);
  const runs: Record<Shift, ShiftFigures[]> = { promote: [], rollback: [], abort: [] };
  for (let i = 0; i < ROUNDS; i++)
    for (const shift of ['promote', 'rollback', 'abort'] as const) {
      const f = await shiftUnderLoad(shift, { rps: RPS, log: (m) => console.log(`[bench] ${m}`) });
      console.log(`[bench] ${shift}: ${f.failed} failed of ${f.total} (${JSON.stringify(f.failures)})`);
      runs[shift].push(f);
    }
  const rollbacks = runs.rollback.map((r) => r.rollback!).filter(Boolean);
  writeResult('canaryShift', {
    load: { rps: RPS, concurrency: 3, retries: 0, through: 'Traefik Gateway, HTTPRoute with a hostname' },
    rounds: ROUNDS,
    promote: summary(runs.promote),
    rollback: {
      ...summary(runs.rollback),
      note: 'servedByCanary = the bad build’s own 500s (what the rollback removes), not failures of the shift',
    },
    abort: summary(runs.abort),
    rollbackTime: {
      from: 'the failed analysis (analysis-aborted history time)',
      routeBackMs: median(rollbacks.map((r) => r.routeBackMs)),
      lastCanaryResponseMs: median(rollbacks.map((r) => r.lastCanaryResponseMs)),
      doneMs: median(rollbacks.map((r) => r.doneMs)),
      doneIncludes: 'drainSeconds (default 10) before the canary pods are deleted',
      runs: rollbacks,
    },
    goal: '0 failed requests in each shift',
  });
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
