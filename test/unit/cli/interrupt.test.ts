import { strict as assert } from 'node:assert';
import { Interrupt, unlessAborted, untilAborted } from '../../../src/cli/interrupt';
import { isCancellation } from '../../../src/core/errors';

// Signals are emitted on `process` by hand; the exit is recorded instead of ending the test run.
describe('the CLI interrupt', () => {
  const quiet = process.stderr.write;
  let interrupt: Interrupt | undefined;
  let exits: number[];

  beforeEach(() => {
    exits = [];
    process.stderr.write = (() => true) as typeof process.stderr.write;
  });
  afterEach(() => {
    process.stderr.write = quiet;
    interrupt?.dispose();
    interrupt = undefined;
  });

  const make = () => {
    // This test's own list: the exits armed for later (clean-up grace, linger) must not land in the next test's.
    const mine = exits;
    return (interrupt = new Interrupt((code) => mine.push(code)));
  };

  it('listens from the start: a first Ctrl+C in a command that took no signal ends the process at once, 130', () => {
    make();
    process.emit('SIGINT', 'SIGINT');
    assert.deepEqual(exits, [130]);
    assert.equal(interrupt!.exitCode, 130);
  });

  it('SIGTERM is 143', () => {
    make();
    process.emit('SIGTERM', 'SIGTERM');
    assert.deepEqual(exits, [143]);
  });

  it('a command that took the signal is aborted, and gets time to clean up; a second signal ends at once', () => {
    const signal = make().take();
    process.emit('SIGINT', 'SIGINT');
    assert.equal(signal.aborted, true);
    assert.deepEqual(exits, [], 'no exit while the command cleans up');
    process.emit('SIGTERM', 'SIGTERM');
    assert.deepEqual(exits, [130], 'the first signal decides the code');
  });

  it('stops listening when disposed', () => {
    const before = process.listenerCount('SIGINT');
    make();
    assert.equal(process.listenerCount('SIGINT'), before + 1);
    interrupt!.dispose();
    interrupt = undefined;
    assert.equal(process.listenerCount('SIGINT'), before);
  });

  it('untilAborted and unlessAborted end on the signal, also one that fired already', async () => {
    const c = new AbortController();
    c.abort();
    await untilAborted(c.signal);
    await assert.rejects(unlessAborted(new Promise(() => undefined), c.signal), (err) => isCancellation(err));
    const live = new AbortController();
    assert.equal(await unlessAborted(Promise.resolve(7), live.signal), 7);
  });
});
