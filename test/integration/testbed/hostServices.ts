// The testbed's host services as the tests reach them: dockerd through dockerode, a /metrics endpoint for Prometheus.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import Docker from 'dockerode';
import * as tarStream from 'tar-stream';
import { loadTestbed } from '../../support/testbed';

export function dockerClient(): Docker {
  return new Docker({ socketPath: loadTestbed().dockerSocket });
}

/** A tar archive of `files` (path → content), as one buffer, optionally zero-padded to a multiple of `recordSize`. */
export async function tarOf(files: Record<string, Buffer | string>, recordSize = 0): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const [name, content] of Object.entries(files)) pack.entry({ name, mode: 0o644 }, content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  const tar = Buffer.concat(chunks);
  if (!recordSize || tar.length % recordSize === 0) return tar;
  return Buffer.concat([tar, Buffer.alloc(recordSize - (tar.length % recordSize))]);
}

/** Entries of a tar archive (path → content). */
export async function untar(archive: NodeJS.ReadableStream): Promise<Map<string, Buffer>> {
  const extract = tarStream.extract();
  const out = new Map<string, Buffer>();
  archive.pipe(extract);
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    out.set(entry.header.name, Buffer.concat(chunks));
  }
  return out;
}

/** Waits for a docker progress stream (build, push) to end; rejects with the daemon's error message if it reported one. */
export async function dockerProgress(
  docker: Docker,
  stream: NodeJS.ReadableStream,
): Promise<Array<Record<string, unknown>>> {
  const events = await new Promise<Array<Record<string, unknown>>>((resolve, reject) =>
    docker.modem.followProgress(stream, (err: Error | null, out: Array<Record<string, unknown>>) =>
      err ? reject(err) : resolve(out),
    ),
  );
  const failed = events.find((e) => e.error || e.errorDetail);
  if (failed) throw new Error(`docker reported: ${String(failed.error ?? JSON.stringify(failed.errorDetail))}`);
  return events;
}

/** A tiny HTTP /metrics endpoint serving one gauge whose value the test sets. */
export class GaugeEndpoint {
  value = 0;
  private readonly server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end(
      `# HELP ${this.metric} Set by the testbed self-test.\n# TYPE ${this.metric} gauge\n${this.metric} ${this.value}\n`,
    );
  });

  constructor(readonly metric: string) {}

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
