import { strict as assert } from 'node:assert';
import { BatchedLogWriter, formatLogRecord } from '../../../src/core/logs/format';

const rec = (text: string) => ({ pod: 'tasks-7d9', container: 'app', timestamp: '2024-05-01T10:00:00Z', text });

describe('BatchedLogWriter', () => {
  it('prefixes lines with pod/container', () => {
    assert.equal(formatLogRecord(rec('ready')), '[tasks-7d9/app] ready');
  });

  it('appends once per batch, when full or after the delay', async () => {
    const appends: string[] = [];
    const w = new BatchedLogWriter({ append: (t) => appends.push(t) }, { maxDelayMs: 20, maxLines: 3 });
    w.write(rec('1'));
    w.write(rec('2'));
    assert.equal(appends.length, 0);
    w.write(rec('3'));
    assert.deepEqual(appends, ['[tasks-7d9/app] 1\n[tasks-7d9/app] 2\n[tasks-7d9/app] 3\n']);
    w.write(rec('4'));
    await new Promise((r) => setTimeout(r, 40));
    assert.deepEqual(appends.slice(1), ['[tasks-7d9/app] 4\n']);
    w.dispose();
    assert.equal(appends.length, 2);
  });
});
