// Thin wrappers over client-node's Exec, Log and PortForward for the testbed self-test: they use the library
// directly (not src/core) so a failure here points at the testbed, not at Sandpiper's own code.
import * as net from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import { Exec, Log, PortForward, type V1Status } from '@kubernetes/client-node';
import { kubeConfig } from '../../support/testbed';

export interface ExecOutcome {
  status: V1Status;
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs `command` in the pod with `stdin` written to it. kwok never closes the exec's stdin, so the command
 * must read exactly as many bytes as it is given; the exec ends when the command exits (its Status arrives).
 */
export async function execWithStdin(
  namespace: string,
  pod: string,
  command: string[],
  stdin: Buffer,
  timeoutMs = 30_000,
): Promise<ExecOutcome> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const input = new PassThrough();
  let socket: { close(): void } | undefined;
  try {
    return await new Promise<ExecOutcome>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `exec ${command.join(' ')} gave no status within ${timeoutMs} ms (stdout ${Buffer.concat(out).length} bytes)`,
            ),
          ),
        timeoutMs,
      );
      const onStatus = (status: V1Status): void => {
        clearTimeout(timer);
        // The status can overtake the last stdout frame by a tick; let the stream drain first.
        setImmediate(() =>
          resolve({ status, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }),
        );
      };
      new Exec(kubeConfig())
        .exec(namespace, pod, 'app', command, sink(out), sink(err), input, false, onStatus)
        .then((ws) => {
          socket = ws;
          // In slices: a single huge websocket frame is not what kubectl sends either.
          for (let i = 0; i < stdin.length; i += 64 * 1024) input.write(stdin.subarray(i, i + 64 * 1024));
        })
        .catch((e: unknown) => {
          clearTimeout(timer);
          reject(e instanceof Error ? e : new Error(String(e)));
        });
    });
  } finally {
    socket?.close();
  }
}

function sink(into: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      into.push(Buffer.from(chunk));
      cb();
    },
  });
}

/** A followed `kubectl logs -f`: `text()` is everything received so far; `stop()` ends the stream. */
export async function followLogs(
  namespace: string,
  pod: string,
  container: string,
): Promise<{ text(): string; stop(): void }> {
  let received = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      received += chunk.toString('utf8');
      cb();
    },
  });
  const abort = await new Log(kubeConfig()).log(namespace, pod, container, stream, { follow: true });
  return { text: () => received, stop: () => abort.abort() };
}

/**
 * A local TCP server whose every connection is carried to `podPort` of the pod by client-node's PortForward
 * (one websocket per connection, as kubectl does).
 */
export async function forwardToPod(
  namespace: string,
  pod: string,
  podPort: number,
): Promise<{ port: number; close(): Promise<void> }> {
  const forward = new PortForward(kubeConfig(), true);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    forward.portForward(namespace, pod, [podPort], socket, null, socket).catch(() => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
