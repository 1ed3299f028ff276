import { strict as assert } from 'node:assert';
import { environmentName, isDnsLabel } from '../../../src/core/env/naming';

describe('environmentName', () => {
  it('is readable: sp-<owner>-<branch>-<hash>', () => {
    const name = environmentName('Ada.Lovelace@example.com', 'feature/PAY-12_checkout');
    assert.match(name, /^sp-ada-lovelace-feature-pay-12-checkout-[0-9a-f]{10}$/);
  });

  it('is stable for the same owner and branch', () => {
    assert.equal(environmentName('ada@example.com', 'main'), environmentName('ada@example.com', 'main'));
  });

  it('keeps owner/branch pairs apart even when their readable parts are the same', () => {
    const pairs: Array<[string, string]> = [
      ['ada@example.com', 'fix/x'],
      ['ada@example.org', 'fix/x'],
      ['Ada@example.com', 'fix-x'],
      ['ada@example.com', 'fix_x'],
      ['ada-b@example.com', 'c'],
      ['ada@example.com', 'b-c'],
      ['', ''],
      [' ', 'main'],
    ];
    const names = pairs.map(([o, b]) => environmentName(o, b));
    assert.equal(new Set(names).size, pairs.length);
  });

  it('never collides across many random owners and branches', () => {
    const seen = new Map<string, string>();
    for (let i = 0; i < 5000; i++) {
      const owner = `user${i % 97}@team${i % 7}.example`;
      const branch = `feature/${'x'.repeat(i % 80)}-${i}`;
      const name = environmentName(owner, branch);
      const key = `${owner}\n${branch}`;
      assert.ok(!seen.has(name) || seen.get(name) === key, `${name} for ${key} and ${seen.get(name)}`);
      seen.set(name, key);
    }
  });

  it('is a DNS-1123 label of at most 63 characters whatever the input', () => {
    const inputs = [
      ['x'.repeat(200) + '@example.com', 'y'.repeat(300)],
      ['---', '///'],
      ['Ünïcødé Ņame', 'ブランチ'],
      ['a@b', 'release/2024.10.01-hotfix--'],
      ['someone', '-leading-and-trailing-'],
      ['very-long-owner-name-that-goes-on-and-on@example.com', 'short'],
    ];
    for (const [owner, branch] of inputs) {
      const name = environmentName(owner, branch);
      assert.ok(isDnsLabel(name), `${JSON.stringify(name)} from ${owner} / ${branch}`);
      assert.ok(name.length <= 63, name);
    }
  });

  it('keeps some of the branch visible when the owner is long', () => {
    const name = environmentName('a-very-very-long-owner-handle-indeed@example.com', 'checkout');
    assert.match(name, /-checkout-[0-9a-f]{10}$/);
  });

  it('isDnsLabel rejects what Kubernetes rejects', () => {
    assert.ok(!isDnsLabel('Upper'));
    assert.ok(!isDnsLabel('-dash'));
    assert.ok(!isDnsLabel('dash-'));
    assert.ok(!isDnsLabel('a'.repeat(64)));
    assert.ok(isDnsLabel('a'.repeat(63)));
  });
});
