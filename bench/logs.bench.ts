// Log pipeline throughput: a fake apiserver (in a worker thread, so it does not share our event loop) streams
// a large timestamped log; followContainerLog parses, de-duplicates and BatchedLogWriter prefixes and appends
// in batches to a sink standing in for the LogOutputChannel. Measures lines/s and the event-loop lag meanwhile.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { KubeConfig } from '@kubernetes/client-node';
import { followContainerLog } from '../src/core/logs/follow';
import { BatchedLogWriter } from '../src/core/logs/format';
import { percentile, writeResult } from './support/results';

const LINES = 1_000_000;

const SERVER = `
const http = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  let i = 0;
  const base = Date.parse('2024-05-01T10:00:00Z');
  const pump = () => {
    while (i < workerData.lines) {
      let chunk = '';
      for (let k = 0; k < 2000 && i < workerData.lines; k++, i++) {
        const t = new Date(base + Math.floor(i / 10)).toISOString().replace('Z', '123456Z');
        chunk += t + ' GET /api/tasks/' + i + ' 200 in 3ms user=42 trace=abcdef0123456789\\n';
      }
      if (!res.write(chunk)) return res.once('drain', pump);
    }
    res.end();
  };
  pump();
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
`;

async function main(): Promise<void> {
  const worker = new Worker(SERVER, { eval: true, workerData: { lines: LINES } });
  const port = await new Promise<number>((resolve) => worker.once('message', resolve));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'bench', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'bench' }],
    contexts: [{ name: 'bench', cluster: 'bench', user: 'bench' }],
    currentContext: 'bench',
  });

  let appended = 0;
  let appends = 0;
  const writer = new BatchedLogWriter({
    append: (text) => {
      appends++;
      appended += text.length;
    },
  });
  let lines = 0;
  const lag = monitorEventLoopDelay({ resolution: 5 });
  // Also sample the lag directly: a timer that should fire every 10 ms.
  const lateBy: number[] = [];
  let expected = Date.now() + 10;
  const ticker = setInterval(() => {
    lateBy.push(Date.now() - expected);
    expected = Date.now() + 10;
  }, 10);
  lag.enable();
  const started = process.hrtime.bigint();
  await followContainerLog({
    kc,
    namespace: 'bench',
    pod: 'tasks-1',
    container: 'app',
    follow: false,
    signal: new AbortController().signal,
    onLine: (record) => {
      lines++;
      writer.write(record);
    },
  });
  writer.flush();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  lag.disable();
  clearInterval(ticker);
  await worker.terminate();
  if (lines !== LINES) throw new Error(`expected ${LINES} lines, got ${lines}`);
  writeResult('logs', {
    lines,
    seconds: Number(seconds.toFixed(3)),
    linesPerSecond: Math.round(lines / seconds),
    goalLinesPerSecond: 100_000,
    sinkAppends: appends,
    sinkMegabytes: Number((appended / 1e6).toFixed(1)),
    eventLoopLagMs: {
      max: Number((lag.max / 1e6).toFixed(1)),
      p99: Number((lag.percentile(99) / 1e6).toFixed(1)),
      timerLateP99: percentile(lateBy, 99),
      timerLateMax: Math.max(0, ...lateBy),
    },
    goalLagMs: 50,
  });
}

void main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
