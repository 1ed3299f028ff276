import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import * as http from 'node:http';

/** A Chrome DevTools Protocol connection to one Node inspector target. */
export class CdpConnection {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve(value: unknown): void; reject(err: Error): void; method: string }
  >();
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

/** The few Chrome DevTools Protocol shapes the Node adapter reads. */
export interface RemoteObject {
  type: string;
  subtype?: string;
  className?: string;
  value?: unknown;
  unserializableValue?: string;
  description?: string;
  objectId?: string;
}

export interface CallFrame {
  callFrameId: string;
  functionName: string;
  location: { scriptId: string; lineNumber: number; columnNumber?: number };
  url?: string;
  scopeChain: Array<{ type: string; name?: string; object: RemoteObject }>;
}

export interface PausedEvent {
  callFrames: CallFrame[];
  reason: string;
  hitBreakpoints?: string[];
  data?: RemoteObject;
}

export interface PropertyDescriptor {
  name: string;
  value?: RemoteObject;
  get?: RemoteObject;
}

export interface EvaluateResult {
  result: RemoteObject;
  exceptionDetails?: { text: string; exception?: RemoteObject };
}

export interface BreakpointSet {
  breakpointId: string;
  locations: Array<{ scriptId: string; lineNumber: number; columnNumber?: number }>;
}

/** How a value reads in the Variables view and hovers. */
export function describeRemoteObject(o: RemoteObject): string {
  switch (o.type) {
    case 'undefined':
      return 'undefined';
    case 'string':
      return JSON.stringify(o.value);
    case 'number':
    case 'boolean':
    case 'bigint':
      return o.unserializableValue ?? o.description ?? String(o.value);
    case 'symbol':
      return o.description ?? 'Symbol()';
    case 'object':
      if (o.subtype === 'null') return 'null';
      return o.description ?? o.className ?? 'Object';
    case 'function':
      return o.description?.split('\n')[0] ?? 'function';
    default:
      return o.description ?? String(o.value);
  }
}

/** Objects and functions have children to expand; primitives do not. */
export function isExpandable(o: RemoteObject): boolean {
  return !!o.objectId && o.type === 'object' && o.subtype !== 'null';
}

/**
 * Asks the Node inspector behind host:port for its WebSocket URL (GET /json/list). The URL it reports names
 * the remote address; we connect to the local forward instead, keeping only the target's path.
 */
export function inspectorWebSocketUrl(host: string, port: number, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/json/list', agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('error', reject);
      res.on('end', () => {
        try {
          const targets = JSON.parse(body) as Array<{ webSocketDebuggerUrl?: string; type?: string }>;
          const target =
            targets.find((t) => t.webSocketDebuggerUrl && (t.type ?? 'node') === 'node') ??
            targets.find((t) => t.webSocketDebuggerUrl);
          if (!target?.webSocketDebuggerUrl) return reject(new Error('The inspector lists no debuggable target.'));
          const path = new URL(target.webSocketDebuggerUrl).pathname;
          resolve(`ws://${host}:${port}${path}`);
        } catch (err) {
          reject(new Error(`Not a Node inspector at ${host}:${port}: ${(err as Error).message}`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`The inspector at ${host}:${port} did not answer in time.`)));
    req.on('error', reject);
  });
}
