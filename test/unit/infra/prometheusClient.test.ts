import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrometheusClient } from '../../../src/core/infra/prometheus';
import { SandpiperError } from '../../../src/core/errors';

type Reply = (res: http.ServerResponse) => void;

/** A stand-in Prometheus on loopback that answers each query with the reply the test sets. */
describe('PrometheusClient: unreachable versus a rejected query (issue 16)', () => {
  let server: http.Server;
  let url: string;
  let reply: Reply;

  before(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => reply(res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const json =
    (status: number, body: unknown): Reply =>
    (res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };

  async function code(client: PrometheusClient, signal?: AbortSignal): Promise<string> {
    try {
      await client.scalar('up', signal);
    } catch (err) {
      assert.ok(err instanceof SandpiperError, String(err));
      return `${err.code}: ${err.message}`;
    }
    return 'answered';
  }

  it('reads an answer', async () => {
    reply = json(200, { status: 'success', data: { resultType: 'vector', result: [{ value: [1, '0.5'] }] } });
    assert.equal(await new PrometheusClient(url).scalar('up'), 0.5);
  });

  it('a rejected query (400, 422) is metrics-query', async () => {
    reply = json(400, { status: 'error', errorType: 'bad_data', error: 'parse error at char 3' });
    assert.match(await code(new PrometheusClient(url)), /^metrics-query: .*parse error/);
    reply = json(422, { status: 'error', errorType: 'execution', error: 'many-to-many matching' });
    assert.match(await code(new PrometheusClient(url)), /^metrics-query: /);
  });

  it('5xx, with or without a JSON body, is metrics-unreachable', async () => {
    reply = json(503, { status: 'error', errorType: 'timeout', error: 'query timed out' });
    assert.match(await code(new PrometheusClient(url)), /^metrics-unreachable: .*HTTP 503 \(query timed out\)/);
    reply = (res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html>Bad Gateway</html>');
    };
    assert.match(await code(new PrometheusClient(url)), /^metrics-unreachable: .*HTTP 502/);
  });

  it('no answer in time is metrics-unreachable', async () => {
    reply = () => undefined; // never answers
    assert.match(await code(new PrometheusClient(url, 200)), /^metrics-unreachable: .*no answer within 200 ms/);
  });

  it('an answer that breaks off is metrics-unreachable', async () => {
    reply = (res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
      res.write('{"status":"succ');
      setTimeout(() => res.destroy(), 20);
    };
    assert.match(await code(new PrometheusClient(url)), /^metrics-unreachable: /);
  });

  it('a refused connection is metrics-unreachable', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    assert.match(await code(new PrometheusClient(`http://127.0.0.1:${port}`)), /^metrics-unreachable: /);
  });

  it("the caller's cancel is cancelled, not unreachable", async () => {
    reply = () => undefined;
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 50);
    assert.match(await code(new PrometheusClient(url, 5000), abort.signal), /^cancelled: /);
  });
});
