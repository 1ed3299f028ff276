import { strict as assert } from 'node:assert';
import { SandpiperError, podFailureCode } from '../../../src/core/errors';

describe('error codes', () => {
  it('a code outside the ErrorCode union does not compile', () => {
    // @ts-expect-error a typo of 'not-found': the static tier's tsc fails the day this compiles again
    const err = new SandpiperError('not-fuond', 'x');
    assert.equal(err.code, 'not-fuond');
  });

  it("a pod's failure reason is its code; a pull error is a pull back-off, an unknown reason is Failed", () => {
    assert.equal(podFailureCode('CrashLoopBackOff'), 'CrashLoopBackOff');
    assert.equal(podFailureCode('ErrImagePull'), 'ImagePullBackOff');
    assert.equal(podFailureCode('Evicted'), 'Evicted');
    assert.equal(podFailureCode('SomethingNew'), 'Failed');
  });
});
