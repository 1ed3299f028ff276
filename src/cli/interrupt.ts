import { cancelled } from '../core/errors';

const EXIT_CODES: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };

/** How long a command that took the interrupt may spend cleaning up (a half-made namespace) before the exit. */
const CLEANUP_GRACE_MS = 5000;
/** Once the command has returned, what a library still holds open (keep-alive sockets) must not hold the exit. */
const LINGER_MS = 300;

/**
 * The CLI's one Ctrl+C / SIGTERM, listened for from start to end so a signal is never swallowed.
 * A command that takes its signal (`take()`) stops and cleans up when it fires, within a grace period;
 * a command that did not take it (a short request) is ended at once. A second signal always ends at once.
 * Exit codes are the shell's: 130 for SIGINT, 143 for SIGTERM.
 */
export class Interrupt {
  private readonly controller = new AbortController();
  private taken = false;
  private received?: NodeJS.Signals;
  private readonly onSignal = (signal: NodeJS.Signals): void => this.handle(signal);

  constructor(private readonly exit: (code: number) => void = (code) => process.exit(code)) {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  /** The signal a long-running command stops on; taking it promises to stop and clean up when it fires. */
  take(): AbortSignal {
    this.taken = true;
    return this.controller.signal;
  }

  /** 130 after Ctrl+C, 143 after SIGTERM; undefined while no signal came. */
  get exitCode(): number | undefined {
    return this.received ? EXIT_CODES[this.received] : undefined;
  }

  /** Stops listening; after a signal, ends the process soon even if something is still open. */
  dispose(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    const code = this.exitCode;
    if (code !== undefined) setTimeout(() => this.exit(code), LINGER_MS).unref();
  }

  private handle(signal: NodeJS.Signals): void {
    const first = !this.received;
    this.received ??= signal;
    const code = this.exitCode ?? 130;
    if (!first || !this.taken) {
      process.stderr.write('sandpiper: cancelled\n');
      this.exit(code);
      return;
    }
    this.controller.abort();
    setTimeout(() => this.exit(code), CLEANUP_GRACE_MS).unref();
  }
}

/** Resolves when the signal fires (at once when it already has): "until Ctrl+C". */
export function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** `work`, or a cancellation as soon as the signal fires (the caller then cleans up what `work` holds). */
export function unlessAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return Promise.race([
    work,
    untilAborted(signal).then((): never => {
      throw cancelled();
    }),
  ]);
}
