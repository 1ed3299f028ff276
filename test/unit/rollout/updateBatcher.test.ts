import { strict as assert } from 'node:assert';
import { sleep } from '../../../src/core/errors';
import { UpdateBatcher } from '../../../src/core/workloads/feed';

describe('UpdateBatcher', () => {
  it('sends a burst as one flush, and at most one flush per interval', async () => {
    const flushes: string[][] = [];
    const b = new UpdateBatcher((keys) => flushes.push([...keys].sort()), 50);
    for (let i = 0; i < 500; i++) b.add([`ns/w${i % 3}`]);
    await sleep(5);
    assert.deepEqual(flushes, [['ns/w0', 'ns/w1', 'ns/w2']]);
    b.add(['ns/a']);
    b.add(['ns/b']);
    await sleep(10);
    assert.equal(flushes.length, 1, 'the second change waits for the interval');
    await sleep(60);
    assert.deepEqual(flushes[1], ['ns/a', 'ns/b']);
    b.dispose();
  });

  it('drops what is pending on dispose', async () => {
    const flushes: unknown[] = [];
    const b = new UpdateBatcher((k) => flushes.push(k), 50);
    b.add(['x']);
    b.dispose();
    await sleep(10);
    assert.equal(flushes.length, 0);
  });
});
