/**
 * Coalesces changed workload keys and flushes them at most every `intervalMs` (≤ 10/s by default): a burst of
 * 500 pod events becomes one message to the webview, and the first change after a quiet spell goes out at once.
 */
export class UpdateBatcher {
  private pending = new Set<string>();
  private timer?: NodeJS.Timeout;
  private lastFlush = 0;

  constructor(
    private readonly flush: (keys: Set<string>) => void,
    private readonly intervalMs = 100,
    private readonly now: () => number = Date.now,
  ) {}

  add(keys: Iterable<string>): void {
    for (const k of keys) this.pending.add(k);
    if (this.timer || this.pending.size === 0) return;
    const wait = Math.max(0, this.lastFlush + this.intervalMs - this.now());
    if (wait === 0) {
      // Flush on the next turn, so the events of one watch chunk go out together.
      this.timer = setTimeout(() => this.fire(), 0);
    } else {
      this.timer = setTimeout(() => this.fire(), wait);
    }
  }

  private fire(): void {
    this.timer = undefined;
    if (!this.pending.size) return;
    const keys = this.pending;
    this.pending = new Set();
    this.lastFlush = this.now();
    this.flush(keys);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.pending.clear();
  }
}
