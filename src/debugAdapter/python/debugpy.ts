import * as net from 'node:net';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { ProtocolServer } from '@vscode/debugadapter/lib/protocol';
import * as path from 'node:path';

// The library's framing (Content-Length headers, sequence numbers, pending requests with timeouts) serves
// the client side of a DAP socket as well as the adapter side; only events need routing here.
/** The DAP response to `request`, for whichever side answers it. */
export function responseTo(
  request: DebugProtocol.Request,
  success: boolean,
  body?: unknown,
  message?: string,
): DebugProtocol.Response {
  return {
    seq: 0,
    type: 'response',
    request_seq: request.seq,
    command: request.command,
    success,
    body,
    message,
  } as DebugProtocol.Response;
}

/** The client end of a DAP connection to a debug adapter listening on TCP (debugpy's `--listen`). */
export class DapSocketClient extends ProtocolServer {
  private closed = false;
  private readonly closeListeners: Array<() => void> = [];
  private readonly eventListeners: Array<(e: DebugProtocol.Event) => void> = [];
  private readonly reverseRequestListeners: Array<(r: DebugProtocol.Request) => void> = [];

  private constructor(private readonly socket: net.Socket) {
    super();
    socket.on('close', () => this.markClosed());
    socket.on('error', () => this.markClosed());
    this.start(socket, socket);
  }

  /** Connects to host:port, or fails after timeoutMs. */
  static connect(host: string, port: number, timeoutMs = 5000): Promise<DapSocketClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no connection to ${host}:${port} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.setNoDelay(true);
        resolve(new DapSocketClient(socket));
      });
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  override handleMessage(msg: DebugProtocol.ProtocolMessage): void {
    if (msg.type === 'event') for (const l of this.eventListeners) l(msg as DebugProtocol.Event);
    else super.handleMessage(msg);
  }

  /** Requests the adapter sends us (e.g. `runInTerminal`, `startDebugging`). */
  protected override dispatchRequest(request: DebugProtocol.Request): void {
    for (const l of this.reverseRequestListeners) l(request);
  }

  /** Sends a request; rejects when the adapter does not answer within timeoutMs or the socket closes. */
  request<T extends DebugProtocol.Response = DebugProtocol.Response>(
    command: string,
    args?: unknown,
    timeoutMs = 10_000,
  ): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`${command}: the connection is closed`));
    return new Promise((resolve, reject) => {
      const onClose = () => reject(new Error(`${command}: the connection closed`));
      this.closeListeners.push(onClose);
      this.sendRequest(command, args, timeoutMs, (r) => {
        this.closeListeners.splice(this.closeListeners.indexOf(onClose), 1);
        if (r.message === 'timeout' && !r.success) reject(new Error(`${command}: no answer within ${timeoutMs} ms`));
        else resolve(r as T);
      });
    });
  }

  /** Answers a reverse request with the given outcome. */
  respond(request: DebugProtocol.Request, success: boolean, body?: unknown, message?: string): void {
    this.sendResponse(responseTo(request, success, body, message));
  }

  onEvent(listener: (e: DebugProtocol.Event) => void): void {
    this.eventListeners.push(listener);
  }

  onReverseRequest(listener: (r: DebugProtocol.Request) => void): void {
    this.reverseRequestListeners.push(listener);
  }

  onClose(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.closeListeners.splice(0)) l();
  }

  override dispose(): void {
    this.socket.destroy();
    this.markClosed();
  }
}

export interface PathMappingPair {
  localRoot: string;
  remoteRoot: string;
}

/** The attach arguments the Python adapter reads (the extension fills host/port with the local forward). */
export interface PythonAttachArguments extends DebugProtocol.AttachRequestArguments {
  host?: string;
  port: number;
  localRoot: string;
  remoteRoot: string;
  pathMappings?: PathMappingPair[];
  justMyCode?: boolean;
  /** How often to check that debugpy still answers (ms); default 1000. */
  heartbeatMs?: number;
  /** How long to keep trying to re-attach after the target goes away; default 10 minutes. */
  reattachTimeoutMs?: number;
}

// Sandpiper's own keys, and the ones that would make debugpy's adapter connect or listen somewhere itself:
// the proxy already holds the connection, so debugpy must attach to the process it serves.
const NOT_FOR_DEBUGPY = [
  'host',
  'port',
  'connect',
  'listen',
  'processId',
  'service',
  'env',
  'runtime',
  'localRoot',
  'remoteRoot',
  'heartbeatMs',
  'reattachTimeoutMs',
];

/** The `attach` arguments debugpy gets: launch.json's extras kept, localRoot↔remoteRoot as the first path mapping. */
export function debugpyAttachArguments(args: PythonAttachArguments): Record<string, unknown> {
  const forwarded: Record<string, unknown> = Object.fromEntries(
    Object.entries(args).filter(([key]) => !NOT_FOR_DEBUGPY.includes(key)),
  );
  const main = { localRoot: path.resolve(args.localRoot), remoteRoot: args.remoteRoot.replace(/(.)\/+$/, '$1') };
  const extra = (args.pathMappings ?? []).filter(
    (m) => path.resolve(m.localRoot) !== main.localRoot || m.remoteRoot.replace(/(.)\/+$/, '$1') !== main.remoteRoot,
  );
  return {
    ...forwarded,
    type: 'python',
    request: 'attach',
    justMyCode: args.justMyCode ?? true,
    pathMappings: [main, ...extra],
  };
}

/**
 * Breakpoint ids as VS Code knows them ↔ the ids of the current debugpy connection. Every debugpy process
 * numbers its breakpoints from 0 again, so after a re-attach the same breakpoint has a new debugpy id; VS
 * Code must keep seeing the id it was first given, or `breakpoint` events and hitBreakpointIds go astray.
 */
export class BreakpointIdMap {
  private nextClientId = 1;
  private toClient = new Map<number, number>();

  /** A new debugpy connection: its ids mean nothing yet. */
  reset(): void {
    this.toClient = new Map();
  }

  /** An id for a breakpoint VS Code has not seen before. */
  fresh(): number {
    return this.nextClientId++;
  }

  /** The VS Code id of a debugpy id, given a fresh one if it is new. */
  clientId(debugpyId: number): number {
    let id = this.toClient.get(debugpyId);
    if (id === undefined) {
      id = this.fresh();
      this.toClient.set(debugpyId, id);
    }
    return id;
  }

  /** Records that a replayed breakpoint (new debugpy id) is one VS Code already knows by clientId. */
  bind(debugpyId: number, clientId: number): void {
    this.toClient.set(debugpyId, clientId);
  }

  knows(debugpyId: number): boolean {
    return this.toClient.has(debugpyId);
  }
}
