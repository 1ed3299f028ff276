/** Expected failures carry a code, a message for people and, when there is one, the next step. */
export class SandpiperError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly hint?: string,
    readonly details?: string,
  ) {
    super(message);
    this.name = 'SandpiperError';
  }
}

const SECRET_PATTERNS: RegExp[] = [
  /\b(gh[pousr]_[A-Za-z0-9]{20,})\b/g,
  /\b(github_pat_[A-Za-z0-9_]{20,})\b/g,
  /(authorization:\s*(?:bearer|token|basic)\s+)[^\s"']+/gi,
  /(token[=:]\s*)[^\s"'&]+/gi,
  /\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{5,}\b/g,
];

/** Removes anything that looks like a credential before text reaches a log or a notification. */
export function redact(text: string): string {
  return SECRET_PATTERNS.reduce((t, re) => t.replace(re, (_m, keep?: string) => (typeof keep === 'string' && keep !== _m ? `${keep}***` : '***')), text);
}

/** One line (plus hint) a person can act on, whatever was thrown. */
export function presentError(err: unknown): { message: string; hint?: string; code?: string } {
  if (err instanceof SandpiperError) return { message: redact(err.message), hint: err.hint, code: err.code };
  if (err instanceof Error) return { message: redact(err.message) };
  return { message: redact(String(err)) };
}

export function isCancellation(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || (err instanceof SandpiperError && err.code === 'cancelled'));
}

export function cancelled(): SandpiperError {
  return new SandpiperError('cancelled', 'Cancelled.');
}

/** Waits `ms`, or less when `signal` aborts: it never rejects, so callers check `signal.aborted` after. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
