import * as http from 'node:http';

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
          const target = targets.find((t) => t.webSocketDebuggerUrl && (t.type ?? 'node') === 'node') ?? targets.find((t) => t.webSocketDebuggerUrl);
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
