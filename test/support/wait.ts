// Waiting in tests, for things that happen on the cluster's (or the editor's) schedule. The product watches;
// tests poll, through this one `eventually`. Plain pauses use the product's own `sleep` (src/core/errors).
import { sleep } from '../../src/core/errors';

/**
 * Polls `probe` until it returns something other than undefined or false, and returns that. A probe that throws
 * is tried again (the cluster may not have the object yet); on timeout the error names `what` and the last
 * value or error seen.
 */
export async function eventually<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 60_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
      last = v;
    } catch (err) {
      last = err instanceof Error ? err.message : err;
    }
    if (Date.now() >= deadline) break;
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
}
