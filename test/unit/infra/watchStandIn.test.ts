import { strict as assert } from 'node:assert';
import { Kube } from '../../../src/core/infra/kube/client';
import { PodTracker } from '../../../src/core/sync/podTracker';
import { GONE_STATUS, StandInServer, watchLine } from './standInServer';

function pod(name: string, rv: number) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, resourceVersion: String(rv), labels: { app: 'web' } },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

/**
 * The pod watch of sync against the real client-node and a stand-in API server that answers the list, then
 * a watch stream with an ERROR event (code 410), then HTTP 410, then normal events; any later watch from a
 * version older than the compaction gets ERROR 410, as kube-apiserver answers it.
 */
describe('the pod watch of sync against a stand-in API server that answers 410', () => {
  let server: StandInServer;
  const counts = { lists: 0, watches: 0 };
  const pods = [pod('web-a', 10)];
  let rv = 10;
  let compactedBelow = 0;

  before(async () => {
    server = new StandInServer((_req, res, url) => {
      if (url.pathname !== '/api/v1/namespaces/ns/pods') return void res.writeHead(404).end();
      if (url.searchParams.get('watch') !== 'true') {
        counts.lists++;
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end(
          JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(rv) }, items: pods }),
        );
      }
      const n = ++counts.watches;
      const from = Number(url.searchParams.get('resourceVersion') ?? 0);
      if (n === 2)
        return void res.writeHead(410, { 'content-type': 'application/json' }).end(JSON.stringify(GONE_STATUS));
      res.writeHead(200, { 'content-type': 'application/json' });
      if (n === 1 || from < compactedBelow) {
        if (n === 1) {
          // While the first watch is refused, a pod starts and the history is compacted: only a relist finds it.
          pods.push(pod('web-b', ++rv));
          compactedBelow = rv;
        }
        return void res.end(watchLine('ERROR', GONE_STATUS));
      }
      res.write(watchLine('BOOKMARK', { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: String(rv) } }));
      setTimeout(() => {
        pods.push(pod('web-c', ++rv));
        res.write(watchLine('ADDED', pods.at(-1)));
      }, 50);
    });
  });

  after(() => server.stop());

  it('relists, sees the pod that started meanwhile and the next one, with a bounded number of watch requests', async () => {
    const kube = new Kube(await server.start());
    const tracker = new PodTracker(kube, 'ns', 'app=web');
    const ready = new Set<string>();
    const errors: string[] = [];
    tracker.on('ready', (p) => ready.add(p.name));
    tracker.on('error', (err) => errors.push((err as Error).message));
    try {
      await tracker.start();
      const deadline = Date.now() + 6000;
      while (!(ready.has('web-b') && ready.has('web-c')) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      const seenAfter = { ...counts };
      await new Promise((r) => setTimeout(r, 500));
      const report = `ready: ${[...ready].join(', ')}; lists ${counts.lists}, watches ${counts.watches} (${seenAfter.watches} when seen); errors: ${errors.join(' | ')}`;
      assert.ok(
        ready.has('web-b'),
        `the pod that started during the refused watch is seen through a relist — ${report}`,
      );
      assert.ok(ready.has('web-c'), `the pod added on the healthy watch is seen — ${report}`);
      assert.ok(counts.lists >= 2, `relisted — ${report}`);
      assert.ok(counts.watches <= 4, `watch requests stay bounded — ${report}`);
      assert.deepEqual(errors, [], 'a 410 is routine, not an error');
    } finally {
      tracker.stop();
    }
  });
});
