import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LogRecord } from '../../../src/core/logs/follow';
import { followEnvironmentLogs } from '../../../src/core/logs/environmentLogs';
import { Kube } from '../../../src/core/infra/kube/client';
import { createNamespace, kubeConfig, logsFrom, writeCriLogLine, type Disposable } from '../../support/testbed';
import { eventually } from '../../support/wait';
import { createPod, createService } from '../portforward/kwokPods';
import { ApiserverDropProxy } from './apiserverDropProxy';

describe('environment logs on the testbed', function () {
  this.timeout(90_000);
  let ns: { name: string; dispose(): Promise<void> };
  let dir: string;
  const cleanups: Disposable[] = [];

  before(async () => {
    ns = await createNamespace('sp-logs');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandpiper-logs-'));
    await createService(ns.name, 'tasks', 8080);
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c.dispose().catch(() => undefined);
    await ns?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function podWithLog(name: string, app: string): Promise<string> {
    const file = path.join(dir, `${name}.log`);
    cleanups.push(await logsFrom(ns.name, name, 'app', file));
    await createPod(ns.name, name, app);
    return file;
  }

  function follow(kube: Kube, options: { service?: string; tailLines?: number; follow?: boolean } = {}) {
    const abort = new AbortController();
    const lines: LogRecord[] = [];
    const notices: string[] = [];
    const done = followEnvironmentLogs({
      kube,
      namespace: ns.name,
      follow: options.follow ?? true,
      tailLines: options.tailLines,
      service: options.service,
      signal: abort.signal,
      onLine: (r) => lines.push(r),
      onNotice: (m) => notices.push(m),
    });
    cleanups.push({ dispose: async () => abort.abort() });
    return { lines, notices, done, stop: () => abort.abort() };
  }

  const texts = (lines: LogRecord[], pod: string) => lines.filter((l) => l.pod === pod).map((l) => l.text);

  it('honours the tail, then delivers lines appended after the follow started', async () => {
    const file = await podWithLog('tail-1', 'tail');
    for (let i = 1; i <= 10; i++) writeCriLogLine(file, `old ${i}`);
    const f = follow(new Kube(kubeConfig()), { service: 'tail', tailLines: 3 });
    await eventually('the tail', () => f.lines.length >= 3, 20_000);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(texts(f.lines, 'tail-1'), ['old 8', 'old 9', 'old 10']);
    for (let i = 1; i <= 5; i++) writeCriLogLine(file, `new ${i}`);
    await eventually('the appended lines', () => f.lines.length >= 8, 20_000);
    assert.deepEqual(texts(f.lines, 'tail-1').slice(3), ['new 1', 'new 2', 'new 3', 'new 4', 'new 5']);
    f.stop();
    await f.done;
  });

  it('resumes a dropped stream without losing or repeating a line', async () => {
    const file = await podWithLog('drop-1', 'drop');
    const proxy = new ApiserverDropProxy();
    cleanups.push(proxy);
    const f = follow(new Kube(await proxy.start()), { service: 'drop', tailLines: 0 });
    await new Promise((r) => setTimeout(r, 1000));
    const expected: string[] = [];
    const write = (text: string) => {
      writeCriLogLine(file, text);
      expected.push(text);
    };
    for (let i = 1; i <= 20; i++) write(`before ${i}`);
    await eventually('lines before the drop', () => f.lines.length >= 20, 20_000);
    assert.ok(proxy.dropAll() > 0, 'there were connections to drop');
    // Written while the stream is down, within the same second as the last delivered line: the hard case.
    for (let i = 1; i <= 20; i++) write(`during ${i}`);
    write('during 20');
    await eventually('lines after the drop', () => f.lines.length >= expected.length, 20_000);
    for (let i = 1; i <= 5; i++) write(`after ${i}`);
    await eventually('lines after the resume', () => f.lines.length >= expected.length, 20_000);
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(texts(f.lines, 'drop-1'), expected);
    assert.ok(
      f.notices.some((n) => /resumed/.test(n)),
      `notices: ${f.notices.join(' | ')}`,
    );
    f.stop();
    await f.done;
  });

  it('interleaves two pods with pod/container prefixes and picks up a pod started later', async () => {
    const a = await podWithLog('mix-a', 'mix');
    const f = follow(new Kube(kubeConfig()), { service: 'mix', tailLines: 0 });
    await new Promise((r) => setTimeout(r, 1000));
    const b = await podWithLog('mix-b', 'mix');
    await new Promise((r) => setTimeout(r, 1500));
    for (let i = 1; i <= 5; i++) {
      writeCriLogLine(a, `a ${i}`);
      writeCriLogLine(b, `b ${i}`);
    }
    await eventually('both pods', () => f.lines.length >= 10, 20_000);
    assert.deepEqual(texts(f.lines, 'mix-a'), ['a 1', 'a 2', 'a 3', 'a 4', 'a 5']);
    assert.deepEqual(texts(f.lines, 'mix-b'), ['b 1', 'b 2', 'b 3', 'b 4', 'b 5']);
    assert.ok(f.lines.every((l) => l.container === 'app'));
    f.stop();
    await f.done;
  });
});
