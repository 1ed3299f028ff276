import { strict as assert } from 'node:assert';
import type { V1Namespace } from '@kubernetes/client-node';
import { janitorDecisions } from '../../../src/core/env/lifecycle';

const NOW = new Date('2026-03-01T12:00:00Z');

/** A small deterministic PRNG so a failure can be replayed from its seed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

interface Truth {
  owned: boolean;
  expired: boolean;
  readable: boolean;
}

function randomNamespace(rand: () => number, i: number): { ns: V1Namespace; truth: Truth } {
  const labels: Record<string, string> = {};
  const annotations: Record<string, string> = {};
  const labelCase = Math.floor(rand() * 5);
  // Only the exact label value counts; tampered look-alikes must be kept.
  if (labelCase === 0) labels['app.kubernetes.io/managed-by'] = 'sandpiper';
  if (labelCase === 1) labels['app.kubernetes.io/managed-by'] = 'Sandpiper';
  if (labelCase === 2) labels['app.kubernetes.io/managed-by'] = 'helm';
  if (labelCase === 3) labels['sandpiper.dev/owner'] = 'ada';
  const owned = labelCase === 0;
  const ttlHours = 1 + Math.floor(rand() * 8);
  const idleHours = rand() * 16;
  const annotationCase = Math.floor(rand() * 6);
  let readable = true;
  if (annotationCase <= 2) {
    annotations['sandpiper.dev/ttl'] = `${ttlHours}h`;
    annotations['sandpiper.dev/last-activity'] = new Date(NOW.getTime() - idleHours * 3_600_000).toISOString();
  } else if (annotationCase === 3) {
    annotations['sandpiper.dev/ttl'] = 'forever';
    annotations['sandpiper.dev/last-activity'] = new Date(0).toISOString();
    readable = false;
  } else if (annotationCase === 4) {
    annotations['sandpiper.dev/ttl'] = `${ttlHours}h`;
    annotations['sandpiper.dev/last-activity'] = 'yesterday';
    readable = false;
  } else readable = false;
  const expired = readable && idleHours > ttlHours;
  return {
    ns: { metadata: { name: `ns-${i}`, uid: `uid-${i}`, labels, annotations } },
    truth: { owned, expired, readable },
  };
}

describe('janitorDecisions', () => {
  for (const seed of [1, 7, 42, 1234, 99991]) {
    it(`deletes exactly the owned, readable and expired namespaces (seed ${seed})`, () => {
      const rand = prng(seed);
      const cases = Array.from({ length: 300 }, (_, i) => randomNamespace(rand, i));
      const decisions = janitorDecisions(
        cases.map((c) => c.ns),
        NOW,
      );
      let deleted = 0;
      decisions.forEach((d, i) => {
        const t = cases[i].truth;
        const should = t.owned && t.readable && t.expired;
        assert.equal(
          d.action === 'delete',
          should,
          `${d.name}: ${JSON.stringify(cases[i].ns.metadata)} → ${d.action} (${d.reason})`,
        );
        if (should) deleted++;
      });
      assert.ok(deleted > 0, 'the random set should contain some deletable namespaces');
    });
  }

  it('keeps a namespace already being deleted and says why it keeps each', () => {
    const ns: V1Namespace = {
      metadata: {
        name: 'x',
        deletionTimestamp: new Date(),
        labels: { 'app.kubernetes.io/managed-by': 'sandpiper' },
        annotations: { 'sandpiper.dev/ttl': '1h', 'sandpiper.dev/last-activity': new Date(0).toISOString() },
      },
    };
    assert.deepEqual(
      janitorDecisions([ns, { metadata: { name: 'kube-system' } }], NOW).map((d) => [d.action, d.reason]),
      [
        ['keep', 'already being deleted'],
        ['keep', 'not managed by Sandpiper'],
      ],
    );
  });

  it('treats the expiry moment itself as expired and one millisecond before as alive', () => {
    const at = (idle: number): V1Namespace => ({
      metadata: {
        name: 'e',
        labels: { 'app.kubernetes.io/managed-by': 'sandpiper' },
        annotations: {
          'sandpiper.dev/ttl': '1h',
          'sandpiper.dev/last-activity': new Date(NOW.getTime() - idle).toISOString(),
        },
      },
    });
    assert.equal(janitorDecisions([at(3_600_000)], NOW)[0].action, 'delete');
    assert.equal(janitorDecisions([at(3_600_000 - 1)], NOW)[0].action, 'keep');
  });
});
