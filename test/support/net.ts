// Ports for the servers tests start on the host (debuggees, code-server, stand-ins).
import * as http from 'node:http';
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

/** GET on a fresh connection (no keep-alive, so each request crosses a forward anew): status and trimmed body. */
export function fetchText(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.trim() }));
      })
      .on('error', reject);
  });
}

/** Whether anything accepts connections on 127.0.0.1:port (a forward's local end, a CLI's listener). */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
