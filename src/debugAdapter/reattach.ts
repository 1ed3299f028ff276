import { OutputEvent, TerminatedEvent } from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';

export interface ReattachOptions {
  /** Connects and attaches again; throws while the target is not back. */
  connect(): Promise<void>;
  /** True once the client detaches: stop trying without a word. */
  detaching(): boolean;
  /** host:port, for the messages. */
  target(): string;
  /** Sends a DAP event to the client. */
  send(event: DebugProtocol.Event): void;
  /** Wait before the first try; it doubles up to 2 s. */
  firstDelayMs: number;
  /** Give up (and end the session) after this long; ten minutes unless the attach arguments say otherwise. */
  timeoutMs?: number;
}

/**
 * Tries to attach again until the target is back, the client detaches, or the time is up. A restart (a sync
 * reload, a replaced pod) takes from a moment to minutes, so the wait between tries backs off; the session
 * says "re-attached" when it is back and ends with `terminated` only when it gives up.
 */
export async function reattachWithBackoff(o: ReattachOptions): Promise<void> {
  const deadline = Date.now() + (o.timeoutMs ?? 10 * 60_000);
  let delay = o.firstDelayMs;
  while (!o.detaching()) {
    await new Promise((r) => setTimeout(r, delay));
    if (o.detaching()) return;
    try {
      await o.connect();
      o.send(new OutputEvent(`Sandpiper: re-attached to ${o.target()}\n`, 'console'));
      return;
    } catch {
      if (Date.now() > deadline) {
        o.send(new OutputEvent(`Sandpiper: gave up re-attaching to ${o.target()}\n`, 'stderr'));
        o.send(new TerminatedEvent());
        return;
      }
      delay = Math.min(delay * 2, 2000);
    }
  }
}
