import { strict as assert } from 'node:assert';
import { eventually } from '../../support/wait';

describe("eventually (the tests' one poll)", () => {
  it('returns the first value that is neither undefined nor false, zero and empty strings included', async () => {
    let calls = 0;
    assert.equal(await eventually('a count', () => (++calls < 3 ? undefined : 0), 1000, 5), 0);
    assert.equal(calls, 3);
    assert.equal(await eventually('a body', async () => '', 1000, 5), '');
  });

  it('tries a probe that throws again, then names what it waited for and the last error', async () => {
    let calls = 0;
    const found = await eventually(
      'the pod',
      () => {
        if (++calls < 3) throw new Error('not found');
        return 'web-1';
      },
      1000,
      5,
    );
    assert.equal(found, 'web-1');
    await assert.rejects(
      eventually(
        'the replacement pod',
        () => {
          throw new Error('pods "web-2" not found');
        },
        50,
        5,
      ),
      /timed out after 50 ms waiting for the replacement pod \(last: "pods \\"web-2\\" not found"\)/,
    );
  });

  it('gives up at the deadline, with the last value seen', async () => {
    const t0 = Date.now();
    await assert.rejects(
      eventually('ready', () => false, 60, 10),
      /waiting for ready \(last: false\)/,
    );
    assert.ok(Date.now() - t0 < 1000);
  });
});
