import * as net from 'node:net';
import type { DebugProtocol } from '@vscode/debugprotocol';
// The library's framing (Content-Length headers, sequence numbers, pending requests with timeouts) serves
// the client side of a DAP socket as well as the adapter side; only events need routing here.
import { ProtocolServer } from '@vscode/debugadapter/lib/protocol';

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
  request<T extends DebugProtocol.Response = DebugProtocol.Response>(command: string, args?: unknown, timeoutMs = 10_000): Promise<T> {
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
    this.sendResponse({ seq: 0, type: 'response', request_seq: request.seq, command: request.command, success, body, message } as DebugProtocol.Response);
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
