// Real containers on the testbed's real node for the sync's container-side tests: images with busybox, with dash +
// GNU tar (the host's binaries and the libraries ldd lists), with no tools at all, and with a shell but no tools;
// pods of them, exec with stdin through the API server and kubelet, and reads of their filesystem.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { extract } from 'tar-stream';
import { execInPod, type ExecResult } from '../../../src/core/infra/kube/exec';
import type { Kube } from '../../../src/core/infra/kube/client';
import { pushedImage } from '../../support/images';
import { readyPods, requireRealNode } from '../../support/realPods';

export const BUSYBOX_IMAGE = 'sandpiper/busybox:latest';

type Files = Record<string, { content: Buffer; mode?: number }>;

/** A build context folder with these files (binary content, modes kept). */
function contextDir(files: Files): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-sync-image-'));
  for (const [rel, f] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), f.content, { mode: f.mode ?? 0o644 });
  }
  return dir;
}

const images = new Map<string, Promise<string>>();
function once(repo: string, files: () => Files): Promise<string> {
  let image = images.get(repo);
  if (!image) {
    image = pushedImage(contextDir(files()), repo);
    images.set(repo, image);
  }
  return image;
}

/** `/bin/<tool>` for each tool from this machine, with the libraries they load (ldd), under rootfs/. */
function hostTools(tools: string[]): Files {
  const files: Files = {};
  const add = (hostPath: string, at = hostPath): void => {
    files[`rootfs${at}`] = { content: fs.readFileSync(fs.realpathSync(hostPath)), mode: 0o755 };
  };
  for (const t of tools) {
    const bin = execFileSync('sh', ['-c', `command -v ${t}`], { encoding: 'utf8' }).trim();
    add(bin, `/bin/${t}`);
    for (const m of execFileSync('ldd', [bin], { encoding: 'utf8' }).matchAll(/(\/\S+)\s+\(0x/g)) add(m[1]);
  }
  return files;
}

/** A static program that waits for SIGTERM and exits: a PID 1 for images without a shell. */
function sleeper(): Buffer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-sleeper-'));
  try {
    fs.writeFileSync(
      path.join(dir, 'sleeper.c'),
      '#include <signal.h>\n#include <unistd.h>\nstatic void bye(int s) { (void)s; _exit(0); }\n' +
        'int main(void) { signal(SIGTERM, bye); for (;;) pause(); }\n',
    );
    execFileSync('cc', ['-static', '-Os', '-o', path.join(dir, 'sleeper'), path.join(dir, 'sleeper.c')]);
    return fs.readFileSync(path.join(dir, 'sleeper'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** dash as /bin/sh, GNU tar, coreutils, findutils and grep from this machine (base64 to read trees back). */
export function gnuTarDashImage(): Promise<string> {
  return once('sp-test/gnutar-dash', () => {
    const tools = ['dash', 'tar', 'head', 'mkdir', 'mv', 'rm', 'find', 'grep', 'md5sum', 'sleep', 'base64'];
    const files = hostTools(tools);
    files['rootfs/bin/sh'] = files['rootfs/bin/dash'];
    files.Dockerfile = {
      content: Buffer.from('FROM scratch\nCOPY rootfs/ /\nENV PATH=/bin\nCMD ["/bin/sleep", "3600"]\n'),
    };
    return files;
  });
}

/** FROM scratch with one static program that only waits: no shell, no tools (a distroless-like image). */
export function toollessImage(): Promise<string> {
  return once('sp-test/toolless', () => ({
    sleeper: { content: sleeper(), mode: 0o755 },
    Dockerfile: { content: Buffer.from('FROM scratch\nCOPY sleeper /sleeper\nCMD ["/sleeper"]\n') },
  }));
}

/**
 * dash as /bin/sh and nothing else (no tar, find, md5sum…). Not busybox: its sh runs its applets even where PATH
 * has none of them.
 */
export function shOnlyImage(): Promise<string> {
  return once('sp-test/sh-only', () => {
    const files = hostTools(['dash']);
    files['rootfs/bin/sh'] = files['rootfs/bin/dash'];
    files['rootfs/sleeper'] = { content: sleeper(), mode: 0o755 };
    files.Dockerfile = {
      content: Buffer.from('FROM scratch\nCOPY rootfs/ /\nENV PATH=/bin\nCMD ["/sleeper"]\n'),
    };
    return files;
  });
}

/** One pod (container `c`) on the real node, kept running for many execs. */
export class TestPod {
  private constructor(
    private readonly kube: Kube,
    readonly namespace: string,
    readonly name: string,
  ) {}

  static async start(kube: Kube, namespace: string, name: string, image: string): Promise<TestPod> {
    requireRealNode();
    await kube.core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name, labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: 'c',
              image,
              imagePullPolicy: 'IfNotPresent',
              ...(image === BUSYBOX_IMAGE ? { command: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"] } : {}),
            },
          ],
        },
      },
    });
    await readyPods(namespace, `app=${name}`, 1);
    return new TestPod(kube, namespace, name);
  }

  exec(command: string[], stdin?: Buffer): Promise<ExecResult> {
    return execInPod(this.kube, {
      namespace: this.namespace,
      pod: this.name,
      container: 'c',
      command,
      stdin,
      timeoutMs: 60_000,
    });
  }

  /** Runs `script` with sh; fails unless it exits 0; resolves to its stdout. */
  async sh(script: string, stdin?: Buffer): Promise<string> {
    const r = await this.exec(['sh', '-c', script], stdin);
    if (r.exitCode !== 0) throw new Error(`${script}: exit ${r.exitCode}: ${r.stderr} ${r.message ?? ''}`);
    return r.stdout;
  }

  /** Extracts a tar at / (exec stdin stays open: the bytes are counted, as the sync's own script does). */
  async putTar(tar: Buffer): Promise<void> {
    await this.sh(`head -c ${tar.length} > /.sp-in.tar && tar -xf /.sp-in.tar -C / && rm -f /.sp-in.tar`, tar);
  }

  /** Everything under `dir`, by path relative to it (read with tar in the container, base64 on the wire). */
  async readTree(dir: string): Promise<Map<string, Node>> {
    const tree = new Map<string, Node>();
    const base = path.posix.basename(dir);
    const out = await this.sh(
      `[ -e '${dir}' ] || exit 0; tar -cf - -C '${path.posix.dirname(dir)}' '${base}' | base64`,
    );
    if (!out.trim()) return tree;
    const x = extract();
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
    x.end(Buffer.from(out.replace(/\s+/g, ''), 'base64'));
    await done;
    return tree;
  }

  /**
   * The container's own filesystem outside `except` (and /proc, /sys, /dev): every path, and the md5 of every file.
   * Two readings differ when anything outside was added, deleted or rewritten.
   */
  async fingerprint(except: string): Promise<string[]> {
    const prune = `\\( -path /proc -o -path /sys -o -path /dev -o -path '${except}' \\) -prune -o`;
    const out = await this.sh(`find / -xdev ${prune} -print; find / -xdev ${prune} -type f -exec md5sum {} +`);
    return out.split('\n').filter(Boolean).sort();
  }
}

export type Node =
  | { type: 'dir' }
  | { type: 'file'; content: string }
  | { type: 'link'; target: string }
  | { type: 'other'; kind: string };
