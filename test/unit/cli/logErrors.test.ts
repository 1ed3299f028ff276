import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { presentError, SandpiperError } from '../../../src/core/errors';
import { followContainerLog } from '../../../src/core/logs/follow';

// What `sandpiper logs` shows when the API server refuses a log (KWOK answers 400 for a container without logs):
// one plain message through kubeError, never client-node's "HTTP-Code … Body … Headers" dump.
const STATUS = {
  kind: 'Status',
  apiVersion: 'v1',
  status: 'Failure',
  message: 'no logs found for container "app" in pod "ns/api-1"',
  reason: 'BadRequest',
  code: 400,
};
const DUMP = /HTTP-Code|Headers:|Body:|"kind"/;

describe('log errors through the one translator', () => {
  let server: http.Server;
  let kc: KubeConfig;
  let requests = 0;

  before(async () => {
    server = http.createServer((_req, res) => {
      requests++;
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify(STATUS));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        { name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true },
      ],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
  });
  after(() => server.close());

  const options = {
    namespace: 'ns',
    pod: 'api-1',
    container: 'app',
    onLine: () => undefined,
    retryDelayMs: { initial: 5, max: 5 },
  };

  it('read once: rejects with one clear message, no retry, no dump', async () => {
    requests = 0;
    const err = await followContainerLog({ ...options, kc, follow: false, signal: new AbortController().signal }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof SandpiperError, String(err));
    const { message } = presentError(err);
    assert.equal(
      message,
      'Could not read the log of api-1/app: HTTP 400: no logs found for container "app" in pod "ns/api-1"',
    );
    assert.doesNotMatch(message, DUMP);
    assert.equal(requests, 1);
  });

  it('following: each retry notice is the plain message', async () => {
    const stop = new AbortController();
    const notices: string[] = [];
    await followContainerLog({
      ...options,
      kc,
      follow: true,
      signal: stop.signal,
      onNotice: (m) => notices.push(m) === 2 && stop.abort(),
    });
    assert.equal(
      notices[0],
      'api-1/app: Could not read the log of api-1/app: HTTP 400: no logs found for container "app" in pod "ns/api-1"; retrying',
    );
    for (const n of notices) assert.doesNotMatch(n, DUMP);
  });
});
