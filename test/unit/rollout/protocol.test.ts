import { strict as assert } from 'node:assert';
import { RolloutModel } from '../../../src/core/workloads/model';
import { hostMessageOf, isHostMessage, parseWebviewMessage } from '../../../src/protocol/rollout';
import { deployment, upsert } from './fixtures';

describe('rollout panel protocol: messages from the (untrusted) webview', () => {
  it('accepts the messages the panel sends', () => {
    for (const m of [
      { type: 'ready' },
      { type: 'pickNamespace' },
      { type: 'action', action: 'promote', kind: 'Deployment', namespace: 'shop', name: 'web' },
      { type: 'action', action: 'abort', kind: 'Rollout', namespace: 'a-b', name: 'api.v2' },
    ]) {
      assert.equal(parseWebviewMessage(m).ok, true, JSON.stringify(m));
    }
  });

  const hostile: Array<[string, unknown]> = [
    ['null', null],
    ['a string', 'promote'],
    ['an array', [{ type: 'ready' }]],
    ['an unknown type', { type: 'exec', command: 'rm -rf /' }],
    ['an unknown action', { type: 'action', action: 'delete', kind: 'Deployment', namespace: 'shop', name: 'web' }],
    ['an unknown kind', { type: 'action', action: 'promote', kind: 'Secret', namespace: 'shop', name: 'web' }],
    [
      'a path in the name',
      { type: 'action', action: 'promote', kind: 'Deployment', namespace: 'shop', name: '../../secrets/x' },
    ],
    [
      'a namespace that is not a DNS label',
      { type: 'action', action: 'abort', kind: 'Deployment', namespace: 'kube-system/..', name: 'web' },
    ],
    ['a missing name', { type: 'action', action: 'abort', kind: 'Deployment', namespace: 'shop' }],
    ['a numeric name', { type: 'action', action: 'abort', kind: 'Deployment', namespace: 'shop', name: 42 }],
    [
      'an extra field',
      { type: 'action', action: 'abort', kind: 'Deployment', namespace: 'shop', name: 'web', body: { spec: {} } },
    ],
    ['a prototype-polluting ready', JSON.parse('{"type":"ready","__proto__":{"admin":true}}')],
    [
      'an overlong name',
      { type: 'action', action: 'abort', kind: 'Deployment', namespace: 'shop', name: 'a'.repeat(300) },
    ],
  ];
  for (const [what, message] of hostile) {
    it(`rejects ${what}`, () => {
      const r = parseWebviewMessage(message);
      assert.equal(r.ok, false);
      if (!r.ok) assert.doesNotMatch(r.reason, /rm -rf|secrets/);
    });
  }
});

describe('rollout panel protocol: dispatch', () => {
  it('logs a hostile message and calls no handler', async () => {
    const { dispatchWebviewMessage } = await import('../../../src/protocol/rollout');
    const called: string[] = [];
    const warnings: string[] = [];
    const handlers = {
      ready: () => called.push('ready'),
      pickNamespace: () => called.push('pick'),
      action: () => called.push('action'),
    };
    assert.equal(
      await dispatchWebviewMessage(
        { type: 'action', action: 'abort', kind: 'Deployment', namespace: 'shop', name: 'web', extra: 1 },
        handlers,
        (w) => warnings.push(w),
      ),
      false,
    );
    assert.deepEqual(called, []);
    assert.equal(warnings.length, 1);
    assert.equal(
      await dispatchWebviewMessage(
        { type: 'action', action: 'abort', kind: 'Deployment', namespace: 'shop', name: 'web' },
        handlers,
        (w) => warnings.push(w),
      ),
      true,
    );
    assert.deepEqual(called, ['action']);
  });
});

describe("rollout panel protocol: the feed's events as webview messages", () => {
  const model = new RolloutModel();
  model.apply(upsert('Deployment', deployment('web', { replicas: 3 })));
  const [web] = model.summaries();
  const sample = { t: 1_700_000_000, canary: { rps: 4, errorRate: 0 }, stable: { rps: 12, p99Ms: 80 } };

  it('sends the workloads of a batch as a workloads message', () => {
    const m = hostMessageOf({ kind: 'workloads', workloads: [web] });
    assert.deepEqual(m, { type: 'workloads', workloads: [web] });
    assert.ok(isHostMessage(m));
  });

  it('sends a chart sample as a metrics message for its workload', () => {
    const m = hostMessageOf({ kind: 'metrics', key: 'shop/web', samples: [sample] });
    assert.deepEqual(m, { type: 'metrics', key: 'shop/web', samples: [sample] });
    assert.ok(isHostMessage(m));
  });
});
