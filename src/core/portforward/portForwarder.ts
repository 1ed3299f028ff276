import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import { PortForward } from '@kubernetes/client-node';
import { WebSocketHandler } from '@kubernetes/client-node/dist/web-socket-handler.js';
import type WebSocket from 'ws';
import { SandpiperError, presentError } from '../errors';
import { clusterOf, isConnectionFailure, kubeError, markCluster } from '../infra/kube/errors';
import type { Kube } from '../infra/kube/client';
import { readyPodOf } from '../infra/kube/pods';

// Not re-exported by the package index; needed to give the handler inert default streams.
export interface PortForwardOptions {
  kube: Kube;
  namespace: string;
  /** Forward to a ready pod of this service (re-picked when the pod goes away)… */
  service?: string;
  /** …or to this pod only. */
  pod?: string;
  remotePort: number;
  /** 0 (default) picks a free port. */
  localPort?: number;
}

export type PortForwardEvent =
  | { kind: 'listening'; localPort: number }
  | { kind: 'connected'; pod: string; connections: number }
  | { kind: 'closed'; pod: string; connections: number }
  | { kind: 'stream-error'; pod: string; message: string }
  | { kind: 'pod-changed'; from?: string; to: string };

/**
 * A local TCP server on 127.0.0.1 whose every connection becomes one port-forward stream through the
 * apiserver to a ready pod. A TCP byte stream cannot be resumed on another pod, so when a stream drops
 * the local socket is closed and the next connection (the client's reconnect) goes to a freshly picked pod.
 */
export class PortForwarder {
  private readonly emitter = new EventEmitter();
  private server?: net.Server;
  private readonly live = new Set<{ socket: net.Socket; ws?: WebSocket }>();
  private pod?: string;
  private readonly failedPods = new Set<string>();
  private closed = false;

  constructor(private readonly options: PortForwardOptions) {
    if (!options.service && !options.pod)
      throw new SandpiperError('invalid', 'A port-forward needs a service or a pod.');
  }

  onEvent(listener: (event: PortForwardEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }

  get localPort(): number | undefined {
    const address = this.server?.address();
    return address && typeof address === 'object' ? address.port : undefined;
  }

  get currentPod(): string | undefined {
    return this.pod;
  }

  /** Checks that a pod is there, then listens; resolves to the local port. */
  async start(): Promise<number> {
    await this.targetPod();
    const server = net.createServer((socket) => void this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'EADDRINUSE'
            ? new SandpiperError(
                'port-in-use',
                `Local port ${this.options.localPort} is in use.`,
                'Pick another local port, or leave it out to get a free one.',
              )
            : err,
        ),
      );
      server.listen(this.options.localPort ?? 0, '127.0.0.1', () => resolve());
    });
    this.emit({ kind: 'listening', localPort: this.localPort! });
    return this.localPort!;
  }

  private emit(event: PortForwardEvent): void {
    this.emitter.emit('event', event);
  }

  private async targetPod(): Promise<string> {
    if (this.options.pod) return this.options.pod;
    if (this.pod && !this.failedPods.has(this.pod)) return this.pod;
    const next = await readyPodOf(this.options.kube, this.options.namespace, this.options.service!, this.failedPods);
    if (next !== this.pod) this.emit({ kind: 'pod-changed', from: this.pod, to: next });
    this.failedPods.clear();
    this.pod = next;
    return next;
  }

  private async accept(socket: net.Socket): Promise<void> {
    socket.pause();
    const entry: { socket: net.Socket; ws?: WebSocket } = { socket };
    this.live.add(entry);
    socket.on('error', () => socket.destroy());
    socket.once('close', () => {
      this.live.delete(entry);
      entry.ws?.close();
    });
    // A stream that cannot open (pod gone, replaced) is retried once on a freshly picked pod.
    for (let attempt = 0; attempt < 2 && !socket.destroyed && !this.closed; attempt++) {
      let pod: string | undefined;
      try {
        pod = await this.targetPod();
        entry.ws = await this.openStream(pod, socket);
        if (socket.destroyed) entry.ws.close();
        else this.emit({ kind: 'connected', pod, connections: this.live.size });
        return;
      } catch (err) {
        if (pod) {
          this.failedPods.add(pod);
          const why = isConnectionFailure(err)
            ? presentError(kubeError(markCluster(err, clusterOf(this.options.kube.config)), `forward to ${pod}`))
                .message
            : ((err as Error).message ?? String(err));
          this.emit({ kind: 'stream-error', pod, message: why });
        }
      }
    }
    socket.destroy();
  }

  private async openStream(pod: string, socket: net.Socket): Promise<WebSocket> {
    const { kube, namespace, remotePort } = this.options;
    // client-node's handler ends its default streams (process.stdout) on a close frame: give it inert ones.
    const inert = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() };
    const handler = new WebSocketHandler(kube.config, undefined, inert);
    const errors = new Writable({
      write: (chunk: Buffer, _enc, done) => {
        const message = chunk.toString('utf8').trim();
        if (message) {
          this.emit({ kind: 'stream-error', pod, message });
          socket.destroy();
        }
        done();
      },
    });
    const ws = (await new PortForward(kube.config, true, handler).portForward(
      namespace,
      pod,
      [remotePort],
      socket,
      errors,
      socket,
    )) as unknown as WebSocket;
    socket.resume();
    ws.on('close', () => {
      this.emit({ kind: 'closed', pod, connections: this.live.size - 1 });
      socket.end();
    });
    return ws;
  }

  /** Stops listening and closes every forwarded connection. */
  async dispose(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const { socket, ws } of this.live) {
      socket.destroy();
      ws?.close();
    }
    this.live.clear();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    this.emitter.removeAllListeners();
  }
}
