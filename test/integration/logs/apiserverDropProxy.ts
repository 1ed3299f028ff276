// A TCP relay in front of the apiserver that can cut every open connection: a real dropped log stream.
import * as net from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { kubeConfig } from '../../support/testbed';

export class ApiserverDropProxy {
  private readonly sockets = new Set<net.Socket>();
  private server?: net.Server;

  async start(): Promise<KubeConfig> {
    const kc = kubeConfig();
    const upstream = new URL(kc.getCurrentCluster()!.server);
    this.server = net.createServer((client) => {
      const up = net.connect(Number(upstream.port || 443), upstream.hostname);
      for (const s of [client, up]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(up).pipe(client);
      client.on('close', () => up.destroy());
      up.on('close', () => client.destroy());
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    const port = (this.server.address() as net.AddressInfo).port;
    const cluster = kc.getCurrentCluster()!;
    const proxied = new KubeConfig();
    proxied.loadFromOptions({
      clusters: kc.clusters.map((c) =>
        c.name === cluster.name ? { ...c, server: `${upstream.protocol}//${upstream.hostname}:${port}` } : c,
      ),
      users: kc.users,
      contexts: kc.contexts,
      currentContext: kc.currentContext,
    });
    return proxied;
  }

  /** Destroys every relayed connection (new ones still pass). */
  dropAll(): number {
    const n = this.sockets.size;
    for (const s of this.sockets) s.destroy();
    return n;
  }

  async dispose(): Promise<void> {
    this.dropAll();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
