// Fakes and readers shared by the canary controller's unit tests: Events as the API server keeps them, and the
// Prometheus text format as a scrape reads it.
import { strict as assert } from 'node:assert';
import { ApiException, type CoreV1Event } from '@kubernetes/client-node';
import type { EventsApi } from '../../../src/core/canary/controllerEvents';
import type { CanaryState } from '../../../src/core/canary/state';

/** One sample of the Prometheus text format: name, labels, value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses what a scrape reads (text format 0.0.4): every sample line, comments skipped. */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, '$1');
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

/** The value of the one sample with this name and (at least) these labels; undefined when there is none. */
export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.ok(found.length <= 1, `${found.length} samples of ${name} ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

/** Records Events like the API server: generated names, patches by name, 404 for names it does not have. */
export class FakeEvents implements EventsApi {
  readonly created: CoreV1Event[] = [];
  readonly patched: Array<{ name: string; body: unknown }> = [];
  failCreate?: () => Error;
  readonly core = {
    createNamespacedEvent: async (p: { namespace: string; body: CoreV1Event }): Promise<CoreV1Event> => {
      if (this.failCreate) throw this.failCreate();
      const e = structuredClone(p.body);
      e.metadata = { ...e.metadata, name: `${e.metadata?.generateName ?? ''}${this.created.length}` };
      this.created.push(e);
      return e;
    },
    patchNamespacedEvent: async (p: { name: string; body: unknown }): Promise<CoreV1Event> => {
      const e = this.created.find((c) => c.metadata?.name === p.name);
      if (!e) throw new ApiException(404, 'Not Found', { reason: 'NotFound' }, {});
      this.patched.push({ name: p.name, body: p.body });
      Object.assign(e, p.body);
      return e;
    },
  };

  get reasons(): string[] {
    return this.created.map((e) => e.reason ?? '');
  }
}

/** A canary state for the controller's tests: step 2 of 3 at 50 %, handed to the controller. */
export const controllerState = (o: Partial<CanaryState> = {}): CanaryState => ({
  version: 1,
  status: 'progressing',
  image: 'web:2',
  container: 'app',
  steps: [25, 50, 100],
  stepIndex: 1,
  weight: 50,
  intervalMs: 10_000,
  stepStartedAt: new Date().toISOString(),
  failures: 0,
  trafficMode: 'httproute',
  stableReplicas: 2,
  history: [],
  driver: 'controller',
  ...o,
});
