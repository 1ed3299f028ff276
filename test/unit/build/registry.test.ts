import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { HttpRegistry, resolveRegistry } from '../../../src/core/build/registry';
import { type SandpiperError } from '../../../src/core/errors';

describe('image registry: which one, and whether a tag is in it', () => {
  describe('resolveRegistry', () => {
    const tbFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sp-unit-tb-')), 'testbed.json');
    before(() => fs.writeFileSync(tbFile, JSON.stringify({ registry: '127.0.0.1:5999' })));

    it('takes sandpiper.yaml, then SANDPIPER_REGISTRY, then the testbed', () => {
      const env = { SANDPIPER_REGISTRY: 'reg.example:5000/', SANDPIPER_TESTBED_JSON: tbFile };
      assert.deepEqual(resolveRegistry({ registry: 'ghcr.io/acme' }, env), {
        registry: 'ghcr.io/acme',
        source: 'sandpiper.yaml',
      });
      assert.deepEqual(resolveRegistry({}, env), { registry: 'reg.example:5000', source: 'SANDPIPER_REGISTRY' });
      assert.deepEqual(resolveRegistry({}, { SANDPIPER_TESTBED_JSON: tbFile }), {
        registry: '127.0.0.1:5999',
        source: 'testbed',
      });
    });

    it('without any, fails naming the settings that fix it', () => {
      assert.throws(
        () => resolveRegistry({}, { SANDPIPER_TESTBED_JSON: path.join(os.tmpdir(), 'no-such-testbed.json') }),
        (e: SandpiperError) =>
          e.code === 'no-registry' &&
          /"registry" in sandpiper\.yaml/.test(e.hint ?? '') &&
          /SANDPIPER_REGISTRY/.test(e.hint ?? ''),
      );
    });
  });

  describe('HttpRegistry (Registry HTTP API v2)', () => {
    let server: http.Server;
    let host = '';
    const seen: http.IncomingHttpHeaders[] = [];
    const digest = `sha256:${'a'.repeat(64)}`;

    before(async () => {
      server = http.createServer((req, res) => {
        seen.push(req.headers);
        const url = new URL(req.url ?? '/', `http://${host}`);
        if (url.pathname === '/token') {
          assert.equal(url.searchParams.get('scope'), 'repository:private/app:pull');
          return void res.end(JSON.stringify({ token: 'anon' }));
        }
        if (url.pathname === '/v2/team/app/manifests/sp-present') {
          res.writeHead(200, { 'Docker-Content-Digest': digest });
          return void res.end();
        }
        if (url.pathname.startsWith('/v2/private/')) {
          if (req.headers.authorization === 'Bearer anon') {
            res.writeHead(200, { 'Docker-Content-Digest': digest });
            return void res.end();
          }
          res.writeHead(401, {
            'WWW-Authenticate': `Bearer realm="http://${host}/token",service="test",scope="repository:private/app:pull"`,
          });
          return void res.end();
        }
        res.writeHead(404);
        res.end();
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => server.close());

    it('returns the digest of a tag it has, asking for Docker v2 and OCI manifests', async () => {
      assert.equal(await new HttpRegistry().digestOf(`${host}/team/app`, 'sp-present'), digest);
      const accept = String(seen.at(-1)?.accept);
      assert.match(accept, /application\/vnd\.docker\.distribution\.manifest\.v2\+json/);
      assert.match(accept, /application\/vnd\.oci\.image\.index\.v1\+json/);
    });

    it('returns undefined for a tag it does not have', async () => {
      assert.equal(await new HttpRegistry().digestOf(`${host}/team/app`, 'sp-absent'), undefined);
    });

    it('follows a bearer challenge with an anonymous token', async () => {
      assert.equal(await new HttpRegistry().digestOf(`${host}/private/app`, 'sp-x'), digest);
    });

    it('fails clearly when the registry does not answer', async () => {
      const closed = http.createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
      const port = (closed.address() as AddressInfo).port;
      await new Promise((r) => closed.close(r));
      await assert.rejects(
        new HttpRegistry().digestOf(`127.0.0.1:${port}/team/app`, 'sp-x'),
        (e: SandpiperError) =>
          e.code === 'image-failed' && e.message.includes(`127.0.0.1:${port} does not answer (ECONNREFUSED)`),
      );
    });

    it('stops when aborted', async () => {
      const abort = new AbortController();
      abort.abort();
      await assert.rejects(
        new HttpRegistry().digestOf(`${host}/team/app`, 'sp-present', abort.signal),
        (e: SandpiperError) => e.code === 'cancelled',
      );
    });
  });
});
