import { strict as assert } from 'node:assert';
import { exitCodeOf } from '../../../src/core/infra/kube/exec';

describe('exitCodeOf (the v1 Status of the exec error channel)', () => {
  it('is 0 on Success', () => assert.equal(exitCodeOf({ status: 'Success' }), 0));
  it('reads the ExitCode cause the kubelet sends', () => {
    assert.equal(
      exitCodeOf({
        status: 'Failure',
        reason: 'NonZeroExitCode',
        details: { causes: [{ reason: 'ExitCode', message: '3' }] },
      }),
      3,
    );
  });
  it('reads "exit status N" from the message when the runtime wrapped the error (kwok)', () => {
    assert.equal(
      exitCodeOf({
        status: 'Failure',
        reason: 'InternalError',
        message: 'error executing command in container: cmd wait: sh -c ...: exit status 4',
      }),
      4,
    );
  });
  it('is -1 when the status says nothing about the code', () =>
    assert.equal(exitCodeOf({ status: 'Failure', message: 'boom' }), -1));
});
