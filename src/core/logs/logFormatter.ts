import type { LogRecord } from './containerLogFollower';

/** `[pod/container] text`: the prefix says where a line came from when pods interleave. */
export function formatLogRecord(record: LogRecord): string {
  return `[${record.pod}/${record.container}] ${record.text}`;
}

export interface LogSink {
  append(text: string): void;
}

/**
 * Collects formatted lines and appends them to the sink in one call per batch: an output channel append is
 * a message to the renderer, and one per line would flood it (and the event loop) under a busy log.
 */
export class BatchedLogWriter {
  private lines: string[] = [];
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly sink: LogSink,
    private readonly options: { maxDelayMs: number; maxLines: number } = { maxDelayMs: 50, maxLines: 2000 },
  ) {}

  write(record: LogRecord): void {
    this.lines.push(formatLogRecord(record));
    if (this.lines.length >= this.options.maxLines) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.options.maxDelayMs);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.lines.length) return;
    const text = this.lines.join('\n');
    this.lines = [];
    this.sink.append(`${text}\n`);
  }

  dispose(): void {
    this.flush();
  }
}
