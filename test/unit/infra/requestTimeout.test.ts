import { strict as assert } from 'node:assert';
import { SandpiperError } from '../../../src/core/errors';
import { listEnvironments } from '../../../src/core/env/lifecycle';
import { Kube } from '../../../src/core/infra/kube/client';
import { apiSource } from '../../../src/core/infra/kube/watch';
import { StandInServer, watchLine } from './standInServer';

// Issue 12: `env list` against a server that accepts and never answers hung for 12 minutes.
describe('Kubernetes request timeout (a stand-in server that accepts and never answers)', () => {
  let server: StandInServer;
  let kube: Kube;

  before(async () => {
    server = new StandInServer((_req, res, url) => {
      if (url.searchParams.get('watch') !== 'true') return; // silence: no status line, ever
      // A watch: headers at once, its first event only after the request timeout has long passed.
      res.writeHead(200, { 'content-type': 'application/json' });
      setTimeout(() => res.write(watchLine('ADDED', { metadata: { name: 'late', resourceVersion: '2' } })), 700);
    });
    kube = new Kube(await server.start(), { requestTimeoutMs: 300 });
  });

  after(() => server.stop());

  it('fails a request with "the cluster does not answer", naming the context, the server and the time waited', async () => {
    const t0 = Date.now();
    const err = await listEnvironments(kube).then(
      () => assert.fail('listed environments from a server that never answers'),
      (e: unknown) => e,
    );
    const took = Date.now() - t0;
    assert.ok(err instanceof SandpiperError, String(err));
    assert.equal(err.code, 'unreachable');
    assert.match(
      err.message,
      /^Cannot list the Sandpiper environments: the cluster of context "stand-in" \(http:\/\/127\.0\.0\.1:\d+\) does not answer \(timed out after 0\.3 s\)\.$/,
    );
    assert.ok(took >= 290 && took < 3000, `took ${took} ms`);
  });

  it('leaves watches alone: they stay open past the request timeout', async () => {
    const events: string[] = [];
    let ended: unknown = 'open';
    const source = apiSource<{ metadata?: { name?: string } }>(kube.config, {
      path: '/api/v1/namespaces',
      list: () => Promise.reject(new Error('unused')),
    });
    const watch = await source.watch(
      '1',
      (type, obj) => void events.push(`${type} ${obj.metadata?.name}`),
      (err) => (ended = err),
    );
    try {
      const deadline = Date.now() + 3000;
      while (!events.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(events, ['ADDED late']);
      assert.equal(ended, 'open');
    } finally {
      watch.abort();
    }
  });
});
