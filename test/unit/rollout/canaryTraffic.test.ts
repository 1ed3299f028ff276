import { strict as assert } from 'node:assert';
import { canaryServiceOf, routeTargets, weightedRules } from '../../../src/core/canary/traffic';
import { canaryDeploymentOf } from '../../../src/core/canary/control';

const route = {
  metadata: { name: 'web' },
  spec: {
    rules: [
      { matches: [{ path: { value: '/' } }], backendRefs: [{ name: 'web', port: 80 }] },
      { backendRefs: [{ name: 'other', port: 80 }] },
    ],
  },
};

describe('built-in canary traffic', () => {
  it('finds the route that targets the Service', () => {
    assert.equal(routeTargets(route, 'web'), true);
    assert.equal(routeTargets(route, 'nope'), false);
  });

  it('splits the Service backendRef by weight and drops the canary at 0', () => {
    const rules = weightedRules(route, 'web', 'web-canary', 25)!;
    assert.deepEqual(rules[0].backendRefs, [
      { name: 'web', port: 80, weight: 75 },
      { name: 'web-canary', port: 80, weight: 25 },
    ]);
    assert.deepEqual(rules[1], route.spec.rules[1]);
    const back = weightedRules({ spec: { rules } }, 'web', 'web-canary', 0)!;
    assert.deepEqual(back[0].backendRefs, [{ name: 'web', port: 80 }]);
  });

  it('makes a canary Service and Deployment that select only canary pods', () => {
    const svc = canaryServiceOf(
      { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } },
      'web',
    );
    assert.deepEqual(svc.spec?.selector, { app: 'web', 'sandpiper.dev/track': 'canary' });
    const d = canaryDeploymentOf(
      {
        metadata: { name: 'web' },
        spec: {
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              containers: [
                { name: 'app', image: 'web:1' },
                { name: 'sidecar', image: 'proxy:1' },
              ],
            },
          },
        },
      },
      'app',
      'web:2',
      1,
    );
    assert.equal(d.metadata?.name, 'web-canary');
    assert.deepEqual(d.spec?.selector.matchLabels, { app: 'web', 'sandpiper.dev/track': 'canary' });
    assert.deepEqual(
      d.spec?.template.spec?.containers.map((c) => c.image),
      ['web:2', 'proxy:1'],
    );
  });
});
