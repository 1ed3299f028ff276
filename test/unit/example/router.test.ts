// The Todo example's router: route patterns are the metrics' `route` label, so they must match exactly.
import { strict as assert } from 'node:assert';
import { Router, UNMATCHED } from '../../../examples/todo/lib/router';

const noop = () => undefined;

describe('example router', () => {
  const router = new Router()
    .on('GET', '/', noop)
    .on('GET', '/tasks', noop)
    .on('POST', '/tasks', noop)
    .on('GET', '/tasks/:id', noop)
    .on('POST', '/tasks/:id/done', noop);

  it('matches a pattern, naming it and its decoded parameters', () => {
    const m = router.match('POST', '/tasks/42/done');
    assert.ok(m.ok);
    assert.equal(m.route, '/tasks/:id/done');
    assert.deepEqual(m.params, { id: '42' });
    const e = router.match('GET', '/tasks/a%20b');
    assert.ok(e.ok);
    assert.deepEqual(e.params, { id: 'a b' });
    assert.equal(router.match('GET', '/').route, '/');
    assert.equal(router.match('GET', '/tasks/').route, '/tasks', 'a trailing slash is the same path');
  });

  it('serves HEAD with the GET handler', () => {
    assert.ok(router.match('HEAD', '/tasks').ok);
  });

  it('answers 405 with the allowed methods for a known path, 404 for an unknown one', () => {
    assert.deepEqual(router.match('DELETE', '/tasks'), {
      ok: false,
      route: '/tasks',
      status: 405,
      allow: ['GET', 'POST'],
    });
    for (const p of ['/nope', '/tasks/1/2', '/tasks/1/undone', '/tasks/%E0%A4%A'])
      assert.deepEqual(router.match('GET', p), { ok: false, route: UNMATCHED, status: 404 }, p);
  });

  it('hands everything else to the fallback when there is one', () => {
    const auth = new Router().on('GET', '/check', noop).otherwise('/check', noop);
    for (const [method, p] of [
      ['GET', '/check'],
      ['POST', '/check'],
      ['GET', '/tasks/1'],
    ] as const) {
      const m = auth.match(method, p);
      assert.ok(m.ok, `${method} ${p}`);
      assert.equal(m.route, '/check');
    }
  });
});
