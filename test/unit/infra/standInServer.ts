import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

// A stand-in Kubernetes API server on 127.0.0.1 (node:http), for tests that need the real client-node on
// the wire with answers a real server gives only when it wants to (410 Gone, ERROR events, silence).

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => void;

export class StandInServer {
  private readonly server: http.Server;
  private readonly responses = new Set<http.ServerResponse>();

  constructor(handler: Handler) {
    this.server = http.createServer((req, res) => {
      this.responses.add(res);
      res.on('close', () => this.responses.delete(res));
      handler(req, res, new URL(req.url ?? '/', 'http://stand-in'));
    });
  }

  async start(): Promise<KubeConfig> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'stand-in', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'nobody' }],
      contexts: [{ name: 'stand-in', cluster: 'stand-in', user: 'nobody' }],
      currentContext: 'stand-in',
    });
    return kc;
  }

  async stop(): Promise<void> {
    for (const res of this.responses) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** One line of a watch stream. */
export function watchLine(type: string, object: unknown): string {
  return `${JSON.stringify({ type, object })}\n`;
}

export const GONE_STATUS = {
  kind: 'Status',
  apiVersion: 'v1',
  status: 'Failure',
  reason: 'Expired',
  code: 410,
  message: 'too old resource version',
};
