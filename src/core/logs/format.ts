import type { LogRecord } from './follow';

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

/** One line of a container's log as the apiserver sends it with `timestamps=true`. */
export interface TimestampedLine {
  /** RFC 3339 with nanoseconds, as sent: compared as text because JS dates stop at milliseconds. */
  timestamp: string;
  text: string;
}

/**
 * Splits `2024-01-01T00:00:00.123456789Z message`; a line without a stamp keeps an empty one. Hand-parsed:
 * this runs once per log line and a regex here costs a fifth of the pipeline.
 */
export function parseTimestampedLine(line: string): TimestampedLine {
  const space = line.indexOf(' ');
  const end = space < 0 ? line.length : space;
  if (
    end < 20 ||
    line.charCodeAt(4) !== 45 /* - */ ||
    line.charCodeAt(10) !== 84 /* T */ ||
    line.charCodeAt(13) !== 58 /* : */
  )
    return { timestamp: '', text: line };
  return { timestamp: line.slice(0, end), text: space < 0 ? '' : line.slice(space + 1) };
}

/**
 * Normalises a stamp to UTC with exactly nine fraction digits so that plain string order is time order
 * (the apiserver trims trailing zeros: `…:05.1Z` must sort after `…:05.09Z`).
 */
export function sortableTimestamp(timestamp: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(timestamp);
  if (!m) return timestamp;
  let base = m[1];
  if (m[3] !== 'Z') base = new Date(`${m[1]}${m[3]}`).toISOString().slice(0, 19);
  return `${base}.${(m[2] ?? '').padEnd(9, '0').slice(0, 9)}Z`;
}

/** The `sinceTime` to resume from: the apiserver takes whole seconds, so round down and filter the rest. */
export function resumeSinceTime(timestamp: string): string {
  return `${sortableTimestamp(timestamp).slice(0, 19)}Z`;
}

/**
 * Drops the lines a reconnect sends again. After resuming at `sinceTime` (whole seconds) the server repeats
 * everything from that second on; lines older than the last one seen are dropped, and at the last seen
 * instant the lines already delivered are dropped by content (counted, so two equal lines stay two lines).
 */
export class ResumeDeduper {
  /** The last stamp as sent: the server spells one instant one way, so raw comparison suffices here. */
  private lastRaw = '';
  private atLast: string[] = [];
  private replay?: { stamp: string; left: Map<string, number> };

  get lastTimestamp(): string | undefined {
    return this.lastRaw || undefined;
  }

  /** Call before reading a resumed stream. */
  resume(): void {
    const left = new Map<string, number>();
    for (const text of this.atLast) left.set(text, (left.get(text) ?? 0) + 1);
    this.replay = { stamp: sortableTimestamp(this.lastRaw), left };
  }

  /** True when the line is new and should be shown. */
  accept(line: TimestampedLine): boolean {
    if (!line.timestamp) return true;
    if (this.replay && !this.acceptReplayed(line)) return false;
    if (line.timestamp === this.lastRaw) this.atLast.push(line.text);
    else {
      this.lastRaw = line.timestamp;
      this.atLast = [line.text];
    }
    return true;
  }

  private acceptReplayed(line: TimestampedLine): boolean {
    const replay = this.replay!;
    const stamp = sortableTimestamp(line.timestamp);
    if (stamp < replay.stamp) return false;
    if (stamp > replay.stamp) {
      this.replay = undefined;
      return true;
    }
    const left = replay.left.get(line.text) ?? 0;
    if (left === 0) return true;
    replay.left.set(line.text, left - 1);
    return false;
  }
}
