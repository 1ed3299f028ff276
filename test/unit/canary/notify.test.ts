import { strict as assert } from 'node:assert';
import { ApiException, type V1Deployment, type V1Pod, type V1Secret } from '@kubernetes/client-node';
import { captureCanaryLogs, notifyCanary, retryAfterMs, type NotifyRequest } from '../../../src/core/canary/notify';
import {
  LOG_BLOCK_CHARS,
  canaryLink,
  notificationPayload,
  type SlackMessage,
} from '../../../src/core/canary/notifyPayload';
import type { CanaryState } from '../../../src/core/canary/state';

const URL_ = 'https://hooks.example.test/services/T000/B000/s3cr3tXYZ?token=abc';
const SECRET = { secret: 'sandpiper-notify', key: 'url' };

function state(extra: Partial<CanaryState> = {}): CanaryState {
  return {
    version: 1,
    status: 'aborted',
    image: 'registry.test/shop/web:v2',
    container: 'web',
    steps: [10, 25, 50, 100],
    stepIndex: 1,
    weight: 25,
    intervalMs: 30_000,
    stepStartedAt: '2026-12-03T10:00:00.000Z',
    failures: 2,
    trafficMode: 'httproute',
    stableReplicas: 2,
    history: [],
    spec: {
      service: 'web',
      analysis: { failureLimit: 0, queries: [] },
      window: '10s',
      warmupMs: 0,
      drainSeconds: 10,
      notify: { ...SECRET },
    },
    lastAnalysis: {
      verdict: 'fail',
      summary: 'error rate 50% > 1%',
      at: '2026-12-03T10:00:30.000Z',
      metrics: [
        { name: 'error-rate', canary: 0.5, stable: 0.001234567, threshold: '≤ 1%', verdict: 'fail' },
        { name: 'p99-latency', canary: 0.12, stable: 0.1, threshold: '≤ 0.5 s', verdict: 'pass' },
      ],
    },
    ...extra,
  };
}

function secretApi(data: Record<string, string> | 'missing' | Error = { url: URL_ }) {
  const calls: string[] = [];
  return {
    calls,
    core: {
      readNamespacedSecret: async ({ namespace, name }: { namespace: string; name: string }): Promise<V1Secret> => {
        calls.push(`${namespace}/${name}`);
        if (data instanceof Error) throw data;
        if (data === 'missing')
          throw new ApiException(404, 'Not Found', { reason: 'NotFound', message: `secrets "${name}" not found` }, {});
        const encoded = Object.fromEntries(
          Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
        );
        return { metadata: { name }, data: encoded };
      },
    },
  };
}

type Answer = number | { status: number; headers?: Record<string, string>; body?: string } | Error;

/** A fetch that answers from a script and records what it was sent and when. */
function scriptedFetch(...answers: Answer[]) {
  const seen: Array<{ url: string; body: SlackMessage; at: number }> = [];
  const fn = async (url: string | URL | Request, init?: RequestInit) => {
    seen.push({ url: String(url), body: JSON.parse(String(init?.body)) as SlackMessage, at: Date.now() });
    const a = answers.shift() ?? 200;
    if (a instanceof Error) throw a;
    const r = typeof a === 'number' ? { status: a } : a;
    return new Response(r.body ?? (r.status < 300 ? 'ok' : 'error'), { status: r.status, headers: r.headers });
  };
  return { fetch: fn as typeof fetch, seen };
}

function request(extra: Partial<NotifyRequest> = {}): NotifyRequest {
  return { namespace: 'shop', deployment: 'web', state: state(), outcome: 'aborted', backoffMs: 10, ...extra };
}

function allText(m: SlackMessage): string {
  return JSON.stringify(m);
}

describe('canary notifications: payload', () => {
  it('an abort names the verdict, the failing metric against its threshold, step, image, logs and link', () => {
    const m = notificationPayload({ ...request(), logLines: ['web-canary-1: Error: boom <script>'] });
    assert.equal(m.text, 'Canary of shop/web aborted: analysis fail: error rate 50% > 1%');
    assert.equal(m.blocks[0].type, 'header');
    const text = allText(m);
    assert.match(
      text,
      /\*Failing metric\(s\):\*\\n• \*error-rate\*: canary 0\.5, stable 0\.001235 vs threshold ≤ 1% \(fail\)/,
    );
    assert.doesNotMatch(text, /p99-latency/, 'only the failing metric on a rollback');
    assert.match(text, /2\/4 \(25%\)/);
    assert.match(text, /registry\.test\/shop\/web:v2/);
    const context = m.blocks.find((b) => b.type === 'context');
    assert.ok(context && context.type === 'context');
    assert.match(context.elements[0].text, /```web-canary-1: Error: boom &lt;script&gt;```/);
    assert.match(text, /<vscode:\/\/sandpiper\.sandpiper\/rollout\?namespace=shop&deployment=web\|Open the rollout>/);
  });

  it('a promotion lists every metric; a failure says its error; no analysis falls back to the summary', () => {
    const promoted = notificationPayload({
      ...request({ outcome: 'promoted' }),
      state: state({ status: 'promoted', lastAnalysis: { ...state().lastAnalysis!, verdict: 'pass' } }),
    });
    assert.match(promoted.text, /^Canary of shop\/web promoted: /);
    assert.match(allText(promoted), /Metrics \(analysis pass\)/);
    assert.match(allText(promoted), /p99-latency/);

    const failed = notificationPayload(request({ outcome: 'failed', error: 'image pull failed:\nErrImagePull' }));
    assert.equal(failed.text, 'Canary of shop/web failed: image pull failed: ErrImagePull');

    const summaryOnly = notificationPayload(
      request({ state: state({ lastAnalysis: { verdict: 'no-data', summary: 'no series for the canary', at: '' } }) }),
    );
    assert.match(allText(summaryOnly), /\*Analysis:\* no-data: no series for the canary/);
    assert.match(allText(summaryOnly), /No log lines from the canary pods/);
  });

  it('fills the configured link with URL-encoded names', () => {
    const link = canaryLink(
      { ...SECRET, link: 'https://dash.test/d?ns={{namespace}}&app={{deployment}}' },
      'a b',
      'w&x',
    );
    assert.equal(link, 'https://dash.test/d?ns=a%20b&app=w%26x');
  });

  it('keeps the last log lines within Slack limits and credentials out of them', () => {
    const long = Array.from({ length: 50 }, (_, i) => `web-canary-1: line ${i} ${'x'.repeat(300)}`);
    long.push('web-canary-1: Authorization: Bearer sekret-token-123 ```');
    const m = notificationPayload({ ...request(), logLines: long });
    const context = m.blocks.find((b) => b.type === 'context');
    assert.ok(context && context.type === 'context');
    const text = context.elements[0].text;
    assert.ok(text.length <= 3000, `context text is ${text.length} characters`);
    assert.ok(text.length > LOG_BLOCK_CHARS - 100, 'the block is filled, not emptied');
    assert.match(text, /Bearer \*\*\*/);
    assert.doesNotMatch(text, /sekret-token-123/);
    assert.ok(text.endsWith("''' ```") || text.endsWith("'''```"), 'a log line cannot close the code block early');
    assert.doesNotMatch(text, /line 30 /, 'only the last 20 lines');
    for (const b of m.blocks) {
      if (b.type === 'header') assert.ok(b.text.text.length <= 150);
      if (b.type === 'section') {
        assert.ok(b.text.text.length <= 3000);
        for (const f of b.fields ?? []) assert.ok(f.text.length <= 2000);
      }
    }
    assert.ok(m.blocks.length <= 50);
  });
});

describe('canary notifications: sending', function () {
  this.timeout(5000);

  it('is a no-op without spec.notify', async () => {
    const api = secretApi();
    const { fetch, seen } = scriptedFetch();
    const r = await notifyCanary(api, request({ state: state({ spec: undefined }), fetch }));
    assert.deepEqual(r, { sent: false, attempts: 0 });
    assert.equal(api.calls.length + seen.length, 0);
  });

  it('posts the payload to the URL read from the Secret', async () => {
    const api = secretApi();
    const { fetch, seen } = scriptedFetch(200);
    const r = await notifyCanary(api, request({ fetch }));
    assert.deepEqual(r, { sent: true, attempts: 1 });
    assert.deepEqual(api.calls, ['shop/sandpiper-notify']);
    assert.equal(seen[0].url, URL_);
    assert.equal(seen[0].body.text, 'Canary of shop/web aborted: analysis fail: error rate 50% > 1%');
  });

  it('a missing Secret or key, or a URL that is not http(s), says how to fix it without sending', async () => {
    const { fetch, seen } = scriptedFetch();
    const missing = await notifyCanary(secretApi('missing'), request({ fetch }));
    assert.equal(missing.sent, false);
    assert.match(
      missing.error ?? '',
      /no Secret shop\/sandpiper-notify.*kubectl -n shop create secret generic sandpiper-notify --from-literal=url=https:\/\/hooks/,
    );
    const noKey = await notifyCanary(secretApi({ other: URL_ }), request({ fetch }));
    assert.match(noKey.error ?? '', /has no key "url".*kubectl -n shop create secret generic/);
    const badScheme = await notifyCanary(secretApi({ url: 'file:///etc/s3cr3t' }), request({ fetch }));
    assert.match(badScheme.error ?? '', /not an http\(s\) URL/);
    assert.doesNotMatch(badScheme.error ?? '', /s3cr3t/);
    assert.equal(seen.length, 0);
  });

  it('retries 5xx and network errors with doubling backoff, then reports the attempts', async () => {
    const lines: string[] = [];
    const { fetch, seen } = scriptedFetch(503, new TypeError('fetch failed'), 500);
    const r = await notifyCanary(secretApi(), request({ fetch, backoffMs: 50, log: (m) => lines.push(m) }));
    assert.equal(r.sent, false);
    assert.equal(r.attempts, 3);
    assert.equal(seen.length, 3);
    const gaps = [seen[1].at - seen[0].at, seen[2].at - seen[1].at];
    assert.ok(gaps[0] >= 45 && gaps[0] < 95, `first wait ${gaps[0]} ms`);
    assert.ok(gaps[1] >= 95 && gaps[1] < 190, `second wait ${gaps[1]} ms`);
    assert.match(r.error ?? '', /after 3 attempt\(s\).*HTTP 500/);
  });

  it('succeeds on a later attempt', async () => {
    const { fetch } = scriptedFetch(502, 200);
    assert.deepEqual(await notifyCanary(secretApi(), request({ fetch })), { sent: true, attempts: 2 });
  });

  it('does not retry other 4xx', async () => {
    const { fetch, seen } = scriptedFetch({ status: 400, body: 'invalid_blocks' }, 200);
    const r = await notifyCanary(secretApi(), request({ fetch }));
    assert.deepEqual([r.sent, r.attempts, seen.length], [false, 1, 1]);
    assert.match(r.error ?? '', /HTTP 400: invalid_blocks/);
  });

  it('honours Retry-After on 429, capped', async () => {
    const { fetch, seen } = scriptedFetch({ status: 429, headers: { 'retry-after': '0.3' } }, 200);
    const r = await notifyCanary(secretApi(), request({ fetch, backoffMs: 10 }));
    assert.deepEqual(r, { sent: true, attempts: 2 });
    assert.ok(seen[1].at - seen[0].at >= 290, `waited ${seen[1].at - seen[0].at} ms`);
    assert.equal(retryAfterMs('3600'), 10_000);
    assert.equal(retryAfterMs('2'), 2000);
    assert.equal(retryAfterMs(null), undefined);
    assert.equal(retryAfterMs('soon'), undefined);
  });

  it('never puts the URL in errors or logs, even when the receiver or the network echoes it', async () => {
    const lines: string[] = [];
    const echo = new TypeError(`fetch failed for ${URL_}`, { cause: new Error(`connect to ${URL_} refused`) });
    const { fetch } = scriptedFetch(echo, { status: 500, body: `no route to /services/T000/B000/s3cr3tXYZ` }, 404);
    const r = await notifyCanary(secretApi(), request({ fetch, log: (m) => lines.push(m) }));
    assert.equal(r.sent, false);
    for (const text of [r.error ?? '', ...lines]) {
      assert.doesNotMatch(text, /s3cr3tXYZ|token=abc|hooks\.example\.test/, text);
    }
    assert.ok(lines.length >= 2);
  });

  it('never throws, whatever the Secret read or fetch does', async () => {
    const r = await notifyCanary(secretApi(new Error('socket hang up')), request());
    assert.equal(r.sent, false);
    assert.match(r.error ?? '', /socket hang up/);
    const broken = (async () => {
      throw new Error('boom');
    }) as typeof fetch;
    const r2 = await notifyCanary(secretApi(), request({ fetch: broken, attempts: 2 }));
    assert.deepEqual([r2.sent, r2.attempts], [false, 2]);
  });
});

describe('canary notifications: log capture', () => {
  function pod(name: string, phase: string, created: string, containers = ['web']): V1Pod {
    return {
      metadata: { name, creationTimestamp: new Date(created) },
      spec: { containers: containers.map((c) => ({ name: c })) },
      status: { phase },
    };
  }

  function logApi(pods: V1Pod[], logs: Record<string, string>, o: { hang?: boolean; noCanary?: boolean } = {}) {
    const asked: Array<{ name: string; container?: string; tailLines?: number; previous?: boolean }> = [];
    let selector = '';
    return {
      asked,
      selector: () => selector,
      apps: {
        readNamespacedDeployment: async ({ name }: { name: string }): Promise<V1Deployment> => {
          if (o.noCanary) throw new ApiException(404, 'Not Found', { reason: 'NotFound', message: 'not found' }, {});
          return {
            metadata: { name },
            spec: {
              selector: { matchLabels: { app: 'web', 'sandpiper.dev/track': 'canary' } },
              template: {},
            },
          };
        },
      },
      core: {
        listNamespacedPod: async ({ labelSelector }: { labelSelector?: string }) => {
          selector = labelSelector ?? '';
          if (o.hang) await new Promise(() => undefined);
          return { items: pods };
        },
        readNamespacedPodLog: async (p: {
          name: string;
          container?: string;
          tailLines?: number;
          previous?: boolean;
        }) => {
          asked.push(p);
          const key = p.previous ? `${p.name}/previous` : p.name;
          if (!(key in logs)) throw new Error('no log');
          return logs[key];
        },
      },
    };
  }

  it('reads the last lines of at most two canary pods, running and newest first, prefixed by pod', async () => {
    const api = logApi(
      [
        pod('web-canary-old', 'Running', '2026-12-03T10:00:00Z'),
        pod('web-canary-pending', 'Pending', '2026-12-03T10:05:00Z'),
        pod('web-canary-new', 'Running', '2026-12-03T10:02:00Z'),
      ],
      { 'web-canary-new': 'a\nb\nc\nd\n', 'web-canary-old': 'x\ny\n' },
    );
    const lines = await captureCanaryLogs(api as never, 'shop', 'web', 3);
    assert.equal(api.selector(), 'app=web,sandpiper.dev/track=canary');
    assert.deepEqual(lines, [
      'web-canary-new: b',
      'web-canary-new: c',
      'web-canary-new: d',
      'web-canary-old: x',
      'web-canary-old: y',
    ]);
    assert.deepEqual(
      api.asked.map((a) => [a.name, a.tailLines, a.container]),
      [
        ['web-canary-new', 3, 'web'],
        ['web-canary-old', 3, 'web'],
      ],
    );
  });

  it('falls back to the previous container of a crash-looping pod', async () => {
    const api = logApi([pod('web-canary-1', 'Running', '2026-12-03T10:00:00Z')], {
      'web-canary-1': '',
      'web-canary-1/previous': 'Error: cannot connect\n',
    });
    assert.deepEqual(await captureCanaryLogs(api as never, 'shop', 'web'), ['web-canary-1: Error: cannot connect']);
  });

  it('returns no lines, and says why, when there is no canary or the cluster does not answer in time', async () => {
    const why: string[] = [];
    const none = await captureCanaryLogs(logApi([], {}, { noCanary: true }) as never, 'shop', 'web', 20, {
      log: (m) => why.push(m),
    });
    assert.deepEqual(none, []);
    assert.match(why[0], /web-canary/);
    const started = Date.now();
    const hung = await captureCanaryLogs(logApi([], {}, { hang: true }) as never, 'shop', 'web', 20, {
      timeoutMs: 200,
      log: (m) => why.push(m),
    });
    assert.deepEqual(hung, []);
    assert.ok(Date.now() - started < 1000);
    assert.match(why[1], /did not answer within 200 ms/);
  });
});
