import { strict as assert } from 'node:assert';
import { openRolloutLink, parseRolloutLink } from '../../../src/features/rollout/uri';

// vscode://sandpiper.sandpiper/rollout?namespace=…&deployment=…, as VS Code hands it to the URI handler.
const link = (query: string, path = '/rollout') => ({ path, query });

describe('rollout link (vscode://sandpiper.sandpiper/rollout)', () => {
  it('names a namespace and a deployment', () => {
    assert.deepEqual(parseRolloutLink(link('namespace=shop&deployment=web')), { namespace: 'shop', deployment: 'web' });
    assert.deepEqual(parseRolloutLink(link('deployment=api.v2&namespace=a-b', '/rollout/')), {
      namespace: 'a-b',
      deployment: 'api.v2',
    });
  });

  const bad: Array<[string, { path: string; query: string }]> = [
    ['another path', link('namespace=shop&deployment=web', '/env')],
    ['no namespace', link('deployment=web')],
    ['no deployment', link('namespace=shop')],
    ['an empty namespace', link('namespace=&deployment=web')],
    ['a path in the namespace', link('namespace=..%2Fkube-system&deployment=web')],
    ['an upper-case deployment', link('namespace=shop&deployment=Web')],
    ['a script in the deployment', link('namespace=shop&deployment=%3Cscript%3E')],
    ['an overlong deployment', link(`namespace=shop&deployment=${'a'.repeat(300)}`)],
    ['an extra parameter', link('namespace=shop&deployment=web&action=abort')],
    ['a repeated parameter', link('namespace=shop&namespace=prod&deployment=web')],
  ];
  for (const [what, uri] of bad) {
    it(`refuses ${what} with a clear message and no action`, async () => {
      const parsed = parseRolloutLink(uri);
      assert.ok('error' in parsed, JSON.stringify(parsed));
      const errors: string[] = [];
      const revealed: string[] = [];
      const opened = await openRolloutLink(
        uri,
        { reveal: async (ns, d) => void revealed.push(`${ns}/${d}`) },
        {
          isTrusted: () => true,
          showError: (m) => errors.push(m),
          log: { info: () => undefined, warn: () => undefined },
        },
      );
      assert.equal(opened, false);
      assert.deepEqual(revealed, []);
      assert.equal(errors.length, 1);
      assert.match(errors[0], /rollout\?namespace=<ns>&deployment=<name>|does not open links/);
    });
  }

  it('reveals a valid link in a trusted workspace only', async () => {
    const revealed: string[] = [];
    const errors: string[] = [];
    const host = (trusted: boolean) => ({
      isTrusted: () => trusted,
      showError: (m: string) => errors.push(m),
      log: { info: () => undefined, warn: () => undefined },
    });
    const target = { reveal: async (ns: string, d: string) => void revealed.push(`${ns}/${d}`) };
    assert.equal(await openRolloutLink(link('namespace=shop&deployment=web'), target, host(false)), false);
    assert.match(errors[0], /Restricted Mode/);
    assert.equal(await openRolloutLink(link('namespace=shop&deployment=web'), target, host(true)), true);
    assert.deepEqual(revealed, ['shop/web']);
  });
});
