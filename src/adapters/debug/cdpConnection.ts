import { EventEmitter } from 'node:events';
import WebSocket from 'ws';

/** A Chrome DevTools Protocol connection to one Node inspector target. */
export class CdpConnection {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(err: Error): void; method: string }>();
  private readonly events = new EventEmitter();
  private closedFlag = false;
  private heartbeat?: NodeJS.Timeout;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => this.receive(String(data)));
    ws.on('close', () => this.close(new Error('The inspector connection closed.')));
    ws.on('error', (err) => this.close(err));
  }

  static open(url: string, timeoutMs = 5000): Promise<CdpConnection> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { handshakeTimeout: timeoutMs, perMessageDeflate: false });
      ws.once('open', () => resolve(new CdpConnection(ws)));
      ws.once('error', reject);
    });
  }

  /**
   * Pings the target every `intervalMs` and closes when an answer takes longer than `timeoutMs`. Needed
   * because a port-forward may keep the stream open after the process behind it died (kwok does), so a
   * dead target is otherwise never noticed. The inspector answers while paused too.
   */
  startHeartbeat(intervalMs: number, timeoutMs: number): void {
    let inFlight = false;
    this.heartbeat = setInterval(() => {
      if (inFlight || this.closedFlag) return;
      inFlight = true;
      const timer = setTimeout(() => this.close(new Error('The inspector stopped answering.')), timeoutMs);
      void this.send('Runtime.evaluate', { expression: '0', silent: true })
        .catch(() => undefined)
        .finally(() => {
          clearTimeout(timer);
          inFlight = false;
        });
    }, intervalMs);
    this.heartbeat.unref?.();
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  send<T = unknown>(method: string, params: object = {}): Promise<T> {
    if (this.closedFlag) return Promise.reject(new Error(`The inspector connection is closed (${method}).`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, method });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  on<T>(event: string, listener: (params: T) => void): void {
    this.events.on(event, listener as (params: unknown) => void);
  }

  /** Fires once when the target goes away (process exit, dropped forward) or dispose() is called. */
  onClose(listener: () => void): void {
    this.events.once('__close', listener);
  }

  private receive(text: string): void {
    let msg: { id?: number; method?: string; params?: unknown; result?: unknown; error?: { message: string } };
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (msg.id !== undefined) {
      const waiting = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.error) waiting?.reject(new Error(`${waiting.method}: ${msg.error.message}`));
      else waiting?.resolve(msg.result);
    } else if (msg.method) {
      this.events.emit(msg.method, msg.params);
    }
  }

  private close(err: Error): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    clearInterval(this.heartbeat);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.events.emit('__close');
    this.events.removeAllListeners();
    this.ws.removeAllListeners();
    this.ws.on('error', () => undefined);
    this.ws.terminate();
  }

  dispose(): void {
    this.close(new Error('Detached.'));
  }
}
