// Real containers on the testbed's dockerd for the sync's container-side tests: images with busybox, with dash +
// GNU tar (the host's binaries and the libraries ldd lists), and with no tools at all; exec with stdin; tree reads.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Readable, Writable } from 'node:stream';
import Docker from 'dockerode';
import { extract, pack } from 'tar-stream';
import { loadTestbed } from '../../support/testbed';

export const BUSYBOX_IMAGE = 'sandpiper/busybox:latest';
export const GNU_DASH_IMAGE = 'sandpiper/gnutar-dash:test';
export const TOOLLESS_IMAGE = 'sandpiper/toolless:test';

export function docker(): Docker {
  return new Docker({ socketPath: loadTestbed().dockerSocket });
}

async function hasImage(d: Docker, tag: string): Promise<boolean> {
  try {
    await d.getImage(tag).inspect();
    return true;
  } catch {
    return false;
  }
}

/** Builds `tag` from a context of { path in context: content } unless it exists (classic builder, no registry). */
async function buildOnce(
  d: Docker,
  tag: string,
  context: Record<string, { content: Buffer; mode?: number }>,
): Promise<void> {
  if (await hasImage(d, tag)) return;
  const p = pack();
  for (const [name, f] of Object.entries(context)) p.entry({ name, mode: f.mode ?? 0o644 }, f.content);
  p.finalize();
  const stream = await d.buildImage(p as unknown as NodeJS.ReadableStream, { t: tag });
  await new Promise<void>((resolve, reject) =>
    d.modem.followProgress(stream, (err: Error | null, out: Array<{ error?: string }>) => {
      const failed = out?.find((o) => o.error)?.error;
      if (err || failed) reject(err ?? new Error(failed));
      else resolve();
    }),
  );
}

/** dash as /bin/sh, GNU tar, coreutils, findutils and grep from this machine, with the libraries they load. */
export async function gnuTarDashImage(d: Docker): Promise<string> {
  const tools = ['dash', 'tar', 'head', 'mkdir', 'mv', 'rm', 'find', 'grep', 'md5sum', 'sleep'];
  const files: Record<string, { content: Buffer; mode?: number }> = {};
  const add = (hostPath: string, at = hostPath): void => {
    files[`rootfs${at}`] = { content: fs.readFileSync(fs.realpathSync(hostPath)), mode: 0o755 };
  };
  for (const t of tools) {
    const bin = execFileSync('sh', ['-c', `command -v ${t}`], { encoding: 'utf8' }).trim();
    add(bin, `/bin/${t}`);
    for (const m of execFileSync('ldd', [bin], { encoding: 'utf8' }).matchAll(/(\/\S+)\s+\(0x/g)) add(m[1]);
  }
  files['rootfs/bin/sh'] = files['rootfs/bin/dash'];
  files.Dockerfile = {
    content: Buffer.from('FROM scratch\nCOPY rootfs/ /\nENV PATH=/bin\nCMD ["/bin/sleep", "3600"]\n'),
  };
  await buildOnce(d, GNU_DASH_IMAGE, files);
  return GNU_DASH_IMAGE;
}

/** FROM scratch with one static program that only sleeps: no shell, no tools (a distroless-like image). */
export async function toollessImage(d: Docker): Promise<string> {
  if (await hasImage(d, TOOLLESS_IMAGE)) return TOOLLESS_IMAGE;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-toolless-'));
  try {
    fs.writeFileSync(path.join(dir, 'sleeper.c'), '#include <unistd.h>\nint main(void) { for (;;) pause(); }\n');
    execFileSync('cc', ['-static', '-Os', '-o', path.join(dir, 'sleeper'), path.join(dir, 'sleeper.c')]);
    await buildOnce(d, TOOLLESS_IMAGE, {
      sleeper: { content: fs.readFileSync(path.join(dir, 'sleeper')), mode: 0o755 },
      Dockerfile: { content: Buffer.from('FROM scratch\nCOPY sleeper /sleeper\nCMD ["/sleeper"]\n') },
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return TOOLLESS_IMAGE;
}

export async function startContainer(d: Docker, image: string): Promise<Docker.Container> {
  const c = await d.createContainer({
    Image: image,
    Cmd: image === BUSYBOX_IMAGE ? ['sleep', '3600'] : undefined,
    NetworkDisabled: true,
  });
  await c.start();
  return c;
}

export interface DockerExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs a command in the container, stdin written (and left to the command to read the bytes it wants). */
export async function execIn(d: Docker, c: Docker.Container, cmd: string[], stdin?: Buffer): Promise<DockerExecResult> {
  const ex = await c.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, AttachStdin: !!stdin });
  const stream = await ex.start({ hijack: true, stdin: !!stdin });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const sink = (into: Buffer[]): Writable =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        into.push(chunk);
        cb();
      },
    });
  d.modem.demuxStream(stream, sink(out), sink(err));
  if (stdin) stream.write(stdin);
  await new Promise<void>((resolve) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
  });
  const info = await ex.inspect();
  return {
    exitCode: info.ExitCode ?? -1,
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
  };
}

export type Node =
  | { type: 'dir' }
  | { type: 'file'; content: string }
  | { type: 'link'; target: string }
  | { type: 'other'; kind: string };

/** Everything under `dir` in the container, by path relative to it (read with docker's archive API, no tools). */
export async function readTree(c: Docker.Container, dir: string): Promise<Map<string, Node>> {
  const tree = new Map<string, Node>();
  let stream: NodeJS.ReadableStream;
  try {
    stream = await c.getArchive({ path: dir });
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return tree;
    throw e;
  }
  const x = extract();
  const base = path.posix.basename(dir);
  x.on('entry', (h, body, next) => {
    const chunks: Buffer[] = [];
    body.on('data', (b: unknown) => void chunks.push(b as Buffer));
    body.on('end', () => {
      const rel = h.name.replace(/\/$/, '').split('/').slice(1).join('/');
      if (h.name.split('/')[0] === base && rel) {
        if (h.type === 'directory') tree.set(rel, { type: 'dir' });
        else if (h.type === 'file') tree.set(rel, { type: 'file', content: Buffer.concat(chunks).toString('utf8') });
        else if (h.type === 'symlink') tree.set(rel, { type: 'link', target: h.linkname ?? '' });
        else tree.set(rel, { type: 'other', kind: h.type ?? '?' });
      }
      next();
    });
  });
  const done = new Promise<void>((resolve, reject) => {
    x.on('finish', resolve);
    x.on('error', reject);
  });
  (stream as Readable).pipe(x);
  await done;
  return tree;
}

/** Paths docker reports as changed in the container's filesystem (added, changed or deleted). */
export async function changedPaths(c: Docker.Container): Promise<string[]> {
  const changes = ((await c.changes()) ?? []) as Array<{ Path: string; Kind: number }>;
  return changes.map((ch) => `${ch.Kind}:${ch.Path}`);
}
