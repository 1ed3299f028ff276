/** One line of a container's log as the apiserver sends it with `timestamps=true`. */
export interface TimestampedLine {
  /** RFC 3339 with nanoseconds, as sent: compared as text because JS dates stop at milliseconds. */
  timestamp: string;
  text: string;
}

const STAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) ?/;

/** Splits `2024-01-01T00:00:00.123456789Z message`; a line without a stamp keeps an empty one. */
export function parseTimestampedLine(line: string): TimestampedLine {
  const m = STAMP.exec(line);
  if (!m) return { timestamp: '', text: line };
  return { timestamp: m[1], text: line.slice(m[0].length) };
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
  private lastStamp = '';
  private atLast = new Map<string, number>();
  private replay?: Map<string, number>;

  get lastTimestamp(): string | undefined {
    return this.lastStamp || undefined;
  }

  /** Call before reading a resumed stream. */
  resume(): void {
    this.replay = new Map(this.atLast);
  }

  /** True when the line is new and should be shown. */
  accept(line: TimestampedLine): boolean {
    if (!line.timestamp) return true;
    const stamp = sortableTimestamp(line.timestamp);
    if (this.replay) {
      if (stamp < this.lastStamp) return false;
      if (stamp === this.lastStamp) {
        const left = this.replay.get(line.text) ?? 0;
        if (left > 0) {
          this.replay.set(line.text, left - 1);
          return false;
        }
      } else {
        this.replay = undefined;
      }
    }
    if (stamp !== this.lastStamp) {
      this.lastStamp = stamp;
      this.atLast = new Map();
    }
    this.atLast.set(line.text, (this.atLast.get(line.text) ?? 0) + 1);
    return true;
  }
}
