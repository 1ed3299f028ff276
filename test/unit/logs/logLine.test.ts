import { strict as assert } from 'node:assert';
import { parseTimestampedLine, resumeSinceTime, ResumeDeduper, sortableTimestamp } from '../../../src/core/logs/format';

describe('log lines', () => {
  it('splits the timestamp from the text', () => {
    assert.deepEqual(parseTimestampedLine('2024-05-01T10:00:00.123456789Z hello world'), {
      timestamp: '2024-05-01T10:00:00.123456789Z',
      text: 'hello world',
    });
    assert.deepEqual(parseTimestampedLine('no stamp here'), { timestamp: '', text: 'no stamp here' });
    assert.deepEqual(parseTimestampedLine('2024-05-01T10:00:00Z '), { timestamp: '2024-05-01T10:00:00Z', text: '' });
  });

  it('orders trimmed fractions correctly and resumes at whole seconds', () => {
    assert.ok(sortableTimestamp('2024-05-01T10:00:05.1Z') > sortableTimestamp('2024-05-01T10:00:05.09Z'));
    assert.equal(sortableTimestamp('2024-05-01T12:00:05.5+02:00'), '2024-05-01T10:00:05.500000000Z');
    assert.equal(resumeSinceTime('2024-05-01T10:00:05.987Z'), '2024-05-01T10:00:05Z');
  });

  it('drops what a resumed stream repeats, and nothing else', () => {
    const d = new ResumeDeduper();
    const line = (ts: string, text: string) => ({ timestamp: `2024-05-01T10:00:${ts}Z`, text });
    const first = [line('04.9', 'a'), line('05.1', 'b'), line('05.2', 'c'), line('05.2', 'c')];
    assert.deepEqual(
      first.map((l) => d.accept(l)),
      [true, true, true, true],
    );
    d.resume();
    // The server repeats from 10:00:05 on: b and both c's are old; a third c at the same instant and d are new.
    const replay = [line('05.1', 'b'), line('05.2', 'c'), line('05.2', 'c'), line('05.2', 'c'), line('06.0', 'd')];
    assert.deepEqual(
      replay.map((l) => d.accept(l)),
      [false, false, false, true, true],
    );
    assert.equal(d.lastTimestamp, '2024-05-01T10:00:06.0Z');
  });

  it('after the replay, lines equal to old ones are shown again', () => {
    const d = new ResumeDeduper();
    const l = { timestamp: '2024-05-01T10:00:01Z', text: 'tick' };
    assert.equal(d.accept(l), true);
    d.resume();
    assert.equal(d.accept(l), false);
    assert.equal(d.accept({ timestamp: '2024-05-01T10:00:02Z', text: 'tick' }), true);
    assert.equal(d.accept({ timestamp: '2024-05-01T10:00:02Z', text: 'tick' }), true);
  });
});
