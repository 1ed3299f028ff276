// Zero-error traffic shifts of the built-in canary (issue 16), on the real node: steady traffic through the
// Gateway (Traefik) to an HTTPRoute's hostname, no retries, every response counted by who answered it. Promoting,
// rolling back on a failed analysis and aborting by hand mid-step must not fail a single request: the canary's
// pods are Ready (and in the Service's endpoints) before the route sends them anything, and old pods keep serving
// until the Gateway has stopped using them. The bad build's own 500s are what the rollback is for: they are
// counted apart, and the rollback itself must add no connection error, 502 or 503.
import { strict as assert } from 'node:assert';
import { canaryImage } from '../../support/canaryWorkspace';
import { exampleImage } from '../../support/images';
import { requireRealNode } from '../../support/realPods';
import { shiftUnderLoad, type ShiftFigures } from '../../support/shiftUnderLoad';

/** At least this many responses during a shift: a load that silently stopped would pass any zero. */
const MIN_RESPONSES = 300;

function report(f: ShiftFigures): string {
  return (
    `${f.shift}: ${f.outcome}, ${f.failed} failed of ${f.total} in ${(f.durationMs / 1000).toFixed(1)} s ` +
    `(stable ${f.servedByStable}, canary ${f.servedByCanary}, failures ${JSON.stringify(f.failures)})` +
    (f.rollback ? `, rollback ${JSON.stringify(f.rollback)}` : '')
  );
}

function assertNoFailures(f: ShiftFigures): void {
  console.log(`      ${report(f)}`);
  assert.ok(f.total >= MIN_RESPONSES, `only ${f.total} responses counted: ${report(f)}`);
  assert.deepEqual(f.failures, {}, `requests failed: ${report(f)}\n${JSON.stringify(f.history, null, 1)}`);
}

describe('zero-error canary shifts under steady Gateway load (real node, client driver)', function () {
  this.timeout(300_000);
  // These fail without make-before-break (the route share set before the canary's pods are Ready and listed as
  // endpoints: Traefik answered 39, 12 and 24 requests with 503). SANDPIPER_SHIFT_DRAIN_SECONDS overrides the
  // canary's drainSeconds to explore the drain (at 30 req/s here, 0 still failed nothing: Traefik followed the
  // route within the pods' own termination grace).
  const drain = process.env.SANDPIPER_SHIFT_DRAIN_SECONDS;
  const o = {
    rps: 30,
    ...(drain !== undefined ? { drainSeconds: Number(drain) } : {}),
    log: (m: string) => console.log(`      [shift] ${m}`),
  };

  before(async function () {
    this.timeout(900_000); // the first run of a machine builds the example's images
    requireRealNode();
    await Promise.all([exampleImage(), canaryImage('good'), canaryImage('bad')]);
  });

  it('promotes a good canary (steps 50, 100) without one failed request, promote and drain included', async () => {
    const f = await shiftUnderLoad('promote', o);
    assert.equal(f.outcome, 'promoted', report(f));
    assert.ok(f.servedByCanary > 0 && f.servedByStable > 0, `both builds served: ${report(f)}`);
    assertNoFailures(f);
  });

  it('rolls a bad build back on its analysis: only the bad build’s own 500s, nothing from the rollback', async () => {
    const f = await shiftUnderLoad('rollback', o);
    assert.equal(f.outcome, 'aborted', report(f));
    assert.ok(
      f.history.some((h) => h.event === 'analysis-aborted'),
      `aborted by its analysis: ${report(f)}`,
    );
    assert.ok(f.servedByCanary > 0, `the bad build answered some requests (its 500s): ${report(f)}`);
    assertNoFailures(f);
  });

  it('aborts by hand mid-step without one failed request', async () => {
    const f = await shiftUnderLoad('abort', o);
    assert.equal(f.outcome, 'aborted', report(f));
    assert.ok(
      f.history.some((h) => h.event === 'abort-requested'),
      `aborted by hand: ${report(f)}`,
    );
    assert.ok(f.servedByCanary > 0, `the canary served before the abort: ${report(f)}`);
    assertNoFailures(f);
  });
});
