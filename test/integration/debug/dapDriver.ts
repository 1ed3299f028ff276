// Drives a debug adapter in-process through its VS Code inline interface (handleMessage / onDidSendMessage).
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { DebugSession } from '@vscode/debugadapter';

export class DapDriver {
  private seq = 1;
  private readonly waiting = new Map<number, (r: DebugProtocol.Response) => void>();
  readonly events: DebugProtocol.Event[] = [];
  private readonly eventWaiters: Array<{
    test(e: DebugProtocol.Event): boolean;
    resolve(e: DebugProtocol.Event): void;
  }> = [];

  constructor(private readonly session: DebugSession) {
    session.onDidSendMessage((m) => this.receive(m as DebugProtocol.ProtocolMessage));
  }

  private receive(m: DebugProtocol.ProtocolMessage): void {
    if (m.type === 'response') {
      const r = m as DebugProtocol.Response;
      this.waiting.get(r.request_seq)?.(r);
      this.waiting.delete(r.request_seq);
    } else if (m.type === 'event') {
      const e = m as DebugProtocol.Event;
      this.events.push(e);
      for (const w of [...this.eventWaiters]) {
        if (w.test(e)) {
          this.eventWaiters.splice(this.eventWaiters.indexOf(w), 1);
          w.resolve(e);
        }
      }
    }
  }

  async request<T extends DebugProtocol.Response = DebugProtocol.Response>(
    command: string,
    args?: unknown,
  ): Promise<T> {
    const seq = this.seq++;
    const done = new Promise<DebugProtocol.Response>((resolve) => this.waiting.set(seq, resolve));
    this.session.handleMessage({ seq, type: 'request', command, arguments: args } as DebugProtocol.Request);
    const r = await done;
    if (!r.success) throw new Error(`${command} failed: ${r.message} ${JSON.stringify(r.body ?? {})}`);
    return r as T;
  }

  /**
   * The first event at or after index `from` of the events seen so far (or yet to come) that matches; fails after
   * `timeoutMs` naming the event and what the adapter said meanwhile.
   */
  waitForEvent(
    event: string,
    test: (e: DebugProtocol.Event) => boolean = () => true,
    from = 0,
    timeoutMs = 120_000,
  ): Promise<DebugProtocol.Event> {
    const seen = this.events.slice(from).find((e) => e.event === event && test(e));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        test: (e: DebugProtocol.Event) => e.event === event && test(e),
        resolve: (e: DebugProtocol.Event) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      const timer = setTimeout(() => {
        this.eventWaiters.splice(this.eventWaiters.indexOf(waiter), 1);
        const said = this.events
          .slice(from)
          .map((e) => (e.event === 'output' ? `output ${JSON.stringify(e.body.output)}` : e.event));
        reject(new Error(`no matching "${event}" event within ${timeoutMs} ms; events since: ${said.join(', ')}`));
      }, timeoutMs);
      this.eventWaiters.push(waiter);
    });
  }
}
