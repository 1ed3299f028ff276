// The Todo example's tasks service: the in-memory store and the JSON API, served through a real node:http server.
import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleRequest, matchRequest } from '../../../examples/todo/lib/handle';
import { MAX_TITLE_LENGTH, tasksRouter } from '../../../examples/todo/tasks/src/routes';
import { MemoryStore, type Task } from '../../../examples/todo/tasks/src/store';

describe('example tasks: the in-memory store', () => {
  it('numbers tasks from 1, lists them in order and completes them', async () => {
    const store = new MemoryStore();
    assert.ok(store.ready());
    assert.deepEqual(await store.create('a'), { id: 1, title: 'a', done: false });
    await store.create('b');
    assert.deepEqual(await store.complete(1), { id: 1, title: 'a', done: true });
    assert.equal(await store.complete(9), undefined);
    assert.deepEqual(await store.list(), [
      { id: 1, title: 'a', done: true },
      { id: 2, title: 'b', done: false },
    ]);
    assert.equal(await store.get(3), undefined);
  });

  it('hands out copies: changing one does not change the store', async () => {
    const store = new MemoryStore();
    (await store.create('a')).title = 'changed by create';
    (await store.list())[0]!.title = 'changed by list';
    (await store.get(1))!.title = 'changed by get';
    (await store.complete(1))!.title = 'changed by complete';
    assert.deepEqual(await store.get(1), { id: 1, title: 'a', done: true });
  });
});

describe('example tasks: the API', () => {
  let server: http.Server;
  let base: string;
  let indexed: Task[];
  let store: MemoryStore;

  beforeEach(async () => {
    indexed = [];
    store = new MemoryStore();
    const router = tasksRouter(store, (t) => indexed.push(t));
    server = http.createServer((req, res) => void handleRequest('tasks', matchRequest(router, req), req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(() => new Promise((r) => server.close(r)));

  const call = async (method: string, path: string, body?: string) => {
    const res = await fetch(base + path, { method, body, headers: body ? { 'content-type': 'application/json' } : {} });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      json: text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text,
    };
  };

  it('creates, lists, gets and completes tasks, indexing each change', async () => {
    assert.deepEqual((await call('GET', '/tasks')).json, []);
    const created = await call('POST', '/tasks', JSON.stringify({ title: '  Buy milk ' }));
    assert.equal(created.status, 201);
    assert.deepEqual(created.json, { id: 1, title: 'Buy milk', done: false });
    assert.deepEqual((await call('GET', '/tasks?x=1')).json, [{ id: 1, title: 'Buy milk', done: false }]);
    assert.deepEqual((await call('GET', '/tasks/1')).json, { id: 1, title: 'Buy milk', done: false });
    const done = await call('POST', '/tasks/1/done');
    assert.equal(done.status, 200);
    assert.deepEqual(done.json, { id: 1, title: 'Buy milk', done: true });
    assert.deepEqual(indexed, [
      { id: 1, title: 'Buy milk', done: false },
      { id: 1, title: 'Buy milk', done: true },
    ]);
  });

  it('refuses a missing, empty, non-string or too long title, and a body that is not a JSON object', async () => {
    for (const body of [
      '',
      '{}',
      '{"title":"   "}',
      '{"title":3}',
      '[]',
      'not json',
      JSON.stringify({ title: 'x'.repeat(MAX_TITLE_LENGTH + 1) }),
    ]) {
      const r = await call('POST', '/tasks', body);
      assert.equal(r.status, 400, body);
      assert.equal(typeof r.json.error, 'string');
    }
    assert.equal((await call('POST', '/tasks', JSON.stringify({ title: 'x'.repeat(MAX_TITLE_LENGTH) }))).status, 201);
    assert.equal(indexed.length, 1, 'only the created task was indexed');
  });

  it('answers 404 for unknown tasks and paths, 405 with Allow for a wrong method', async () => {
    for (const p of ['/tasks/7', '/tasks/abc', '/tasks/1e3', '/tasks/-1', '/tasks/%E0%A4%A'])
      assert.equal((await call('GET', p)).status, 404, p);
    assert.equal((await call('POST', '/tasks/7/done')).status, 404);
    assert.equal((await call('GET', '/nope')).status, 404);
    const wrong = await call('DELETE', '/tasks');
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'GET, POST');
    assert.equal(indexed.length, 0);
  });

  it('answers 500 without details when the store fails', async () => {
    store.list = () => Promise.reject(new Error('connection refused (secret detail)'));
    const errors: unknown[] = [];
    const original = console.error;
    console.error = (...a: unknown[]) => errors.push(a);
    try {
      const r = await call('GET', '/tasks');
      assert.equal(r.status, 500);
      assert.deepEqual(r.json, { error: 'internal error' });
    } finally {
      console.error = original;
    }
    assert.match(String(errors[0]), /GET \/tasks failed: Error: connection refused/);
  });

  it('serves the Todo page: a labelled input, an Add button, and the API on relative paths', async () => {
    const r = await call('GET', '/');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
    const html = r.json as string;
    assert.match(html, /<label>New task <input id="title"/);
    assert.match(html, /<button type="submit">Add<\/button>/);
    assert.match(html, /'Done'/);
    assert.match(html, /call\('GET', 'tasks'\)/);
    assert.doesNotMatch(html, /'\/tasks/, 'no absolute paths: the page works behind the gateway and a port-forward');
    assert.doesNotMatch(html, /innerHTML/, 'titles are set as text, never as HTML');
  });
});
