import { strict as assert } from 'node:assert';
import { RolloutModel } from '../../../src/core/workloads/model';
import {
  driverLine,
  hostMessageOf,
  isHostMessage,
  parseWebviewMessage,
  whoDrives,
} from '../../../src/protocol/rollout';
import { deployment, upsert } from './fixtures';

describe('rollout panel protocol: messages from the (untrusted) webview', () => {
  it('accepts the messages the panel sends', () => {
    for (const m of [
      { type: 'ready' },
      { type: 'pickNamespace' },
      { type: 'action', action: 'promote', kind: 'Deployment', namespace: 'shop', name: 'web' },
      { type: 'action', action: 'abort', kind: 'Rollout', namespace: 'a-b', name: 'api.v2' },
      { type: 'action', action: 'skip', kind: 'Deployment', namespace: 'shop', name: 'web' },
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
      'a skip with a step number',
      { type: 'action', action: 'skip', kind: 'Deployment', namespace: 'shop', name: 'web', to: 3 },
    ],
    ['a skip without a kind', { type: 'action', action: 'skip', namespace: 'shop', name: 'web' }],
    [
      'a skip of another namespace path',
      { type: 'action', action: 'skip', kind: 'Deployment', namespace: '../shop', name: 'web' },
    ],
    [
      'a skip spelled otherwise',
      { type: 'action', action: 'skipStep', kind: 'Deployment', namespace: 'shop', name: 'web' },
    ],
    ['a skip as its own message type', { type: 'skip', namespace: 'shop', name: 'web' }],
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

describe('rollout panel protocol: who drives a canary', () => {
  const self = 'vscode@laptop:4242';

  it('names the controller pod holding the canary Lease', () => {
    const d = whoDrives({ status: 'progressing', stateDriver: 'controller', leaseHolder: 'controller/ctl-5c8', self });
    assert.deepEqual(d, { by: 'controller', pod: 'ctl-5c8' });
    assert.equal(driverLine(d), 'Driven by the in-cluster controller (ctl-5c8)');
  });

  it('a canary handed to a running controller is its, even between two of its leases', () => {
    const d = whoDrives({ status: 'progressing', stateDriver: 'controller', controller: 'ctl-5c8', self });
    assert.deepEqual(d, { by: 'controller', pod: 'ctl-5c8' });
  });

  it('this window: closing it pauses the rollout', () => {
    const d = whoDrives({ status: 'progressing', stateDriver: 'client', controller: 'ctl', leaseHolder: self, self });
    assert.equal(
      driverLine(d),
      'Driven by this window — closing it pauses the rollout. Install the controller to let it run on its own.',
    );
  });

  it('another client (the CLI, another window) by its name', () => {
    const d = whoDrives({ status: 'progressing', stateDriver: 'client', leaseHolder: 'cli@ci:77', self });
    assert.match(driverLine(d), /^Driven by cli@ci:77 — stopping it pauses/);
  });

  it('nobody: a client canary with a free Lease, or a controller canary whose controller is not running', () => {
    for (const stateDriver of ['client', 'controller', undefined] as const) {
      const d = whoDrives({
        status: 'paused',
        stateDriver,
        controller: stateDriver === 'client' ? 'ctl' : undefined,
        self,
      });
      assert.deepEqual(d, { by: 'nobody', status: 'paused' });
      assert.match(driverLine(d), /^Nobody drives it: paused/);
    }
  });

  it('drivers and reveal messages pass the host guard; malformed ones do not', () => {
    assert.ok(isHostMessage({ type: 'drivers', drivers: { 'shop/web': { by: 'window' } } }));
    assert.ok(isHostMessage({ type: 'reveal', key: 'shop/web' }));
    assert.equal(isHostMessage({ type: 'drivers', drivers: 'all' }), false);
    assert.equal(isHostMessage({ type: 'reveal', key: 7 }), false);
  });
});
