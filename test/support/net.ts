// Ports for the servers tests start on the host (debuggees, code-server, stand-ins).
import * as net from 'node:net';

/** A TCP port free on `host` right now: the OS picks one, the probe releases it. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
