import * as vscode from 'vscode';
import { presentError } from '../../core/errors';
import type { Kube } from '../../core/kube/client';
import { followEnvironmentLogs } from '../../core/logs/envLogFollower';
import { BatchedLogWriter } from '../../core/logs/logFormatter';

const TAIL_LINES = 200;
const TOUCH_EVERY_MS = 60_000;

/** "Sandpiper Logs: <env>": every container of the env followed into one LogOutputChannel until disposed. */
export class EnvironmentLogChannel implements vscode.Disposable {
  readonly channel: vscode.LogOutputChannel;
  private readonly abort = new AbortController();
  private readonly writer: BatchedLogWriter;
  private lastTouch = 0;
  readonly done: Promise<void>;

  constructor(
    readonly namespace: string,
    kube: Kube,
    private readonly onActivity: () => void,
    log: vscode.LogOutputChannel,
  ) {
    this.channel = vscode.window.createOutputChannel(`Sandpiper Logs: ${namespace}`, { log: true });
    this.writer = new BatchedLogWriter({
      append: (text) => {
        // A log channel makes each append one timestamped entry: a batch is one entry, without a blank line after it.
        this.channel.append(text.endsWith('\n') ? text.slice(0, -1) : text);
        this.touch();
      },
    });
    this.channel.info(`Following the logs of every pod in ${namespace} (last ${TAIL_LINES} lines each).`);
    this.done = followEnvironmentLogs({
      kube,
      namespace,
      follow: true,
      tailLines: TAIL_LINES,
      signal: this.abort.signal,
      onLine: (record) => this.writer.write(record),
      onNotice: (message) => this.channel.warn(message),
    }).catch((err) => {
      const { message, hint } = presentError(err);
      this.channel.error(`${message}${hint ? ` — ${hint}` : ''}`);
      log.error(`logs of ${namespace}: ${message}`);
    });
  }

  get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  /** Records activity at most once a minute: a chatty service must not hammer the namespace annotation. */
  private touch(): void {
    const now = Date.now();
    if (now - this.lastTouch < TOUCH_EVERY_MS) return;
    this.lastTouch = now;
    this.onActivity();
  }

  dispose(): void {
    if (this.abort.signal.aborted) return;
    this.abort.abort();
    this.writer.dispose();
    this.channel.dispose();
  }
}
