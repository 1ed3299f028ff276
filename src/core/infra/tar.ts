import { pack, type Pack } from 'tar-stream';
import { SandpiperError } from '../errors';

/** A whole tar in memory: `addEntries` writes every entry (synchronously, from buffers), then the archive is closed. */
export async function packTar(addEntries: (tar: Pack) => void): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve, reject) => {
    p.on('end', resolve);
    p.on('error', reject);
  });
  addEntries(p);
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** One file to write, by its path relative to the sync target. */
export interface ArchiveFile {
  path: string;
  content: Buffer;
  mode: number;
  mtime: Date;
}

/** tar reads in records of 20 blocks; a stream that never ends must hold whole records or `tar -x` waits forever. */
export const TAR_RECORD = 10240;

/** Up to this many files the container renames each by name; more are moved folder by folder (fewer processes). */
const LISTED_FILES_MAX = 64;

/**
 * Why a container-relative path cannot travel, or undefined when it can. Escaping the target is refused; so are
 * names the container's line-based lists and tools cannot carry intact: control characters (newline, tab), a
 * backslash (GNU tools print it escaped; it is a separator on Windows), and names that were not UTF-8 on disk
 * (Node reads those bytes as U+FFFD, so the file could not be read back by that name).
 */
export function carryProblem(p: string): string | undefined {
  const parts = p.split('/');
  if (!p || p.startsWith('/') || /^[A-Za-z]:/.test(p) || parts.some((s) => s === '..' || s === '.' || s === '')) {
    return 'it would escape the sync target';
  }
  if (/[\x00-\x1f\x7f]/.test(p)) return 'its name has a control character (newline, tab)';
  if (p.includes('\\')) return 'its name has a backslash';
  if (p.includes('\uFFFD')) return 'its name is not valid UTF-8';
  // tar listings write a link as "name -> target": the container could not tell such a name from a link.
  if (p.includes(' -> ')) return 'its name holds " -> "';
  return undefined;
}

/** The path as it can be shown on one line. */
export function printablePath(p: string): string {
  return p.replace(/[\x00-\x1f\x7f]/g, '?');
}

/** Throws for a path carryProblem refuses (the builder's last line of defence; callers skip such files first). */
export function assertSafeRelative(p: string): string {
  const problem = carryProblem(p);
  if (problem) {
    throw new SandpiperError(
      'sync-path-refused',
      `Refusing to sync "${printablePath(p)}": ${problem}.`,
      'Rename the file, or exclude it with sync.exclude in sandpiper.yaml.',
    );
  }
  return p;
}

/**
 * One batch as a tar: files under `files/`, deletions listed in `.sandpiper/delete`, padded to a whole record.
 * Paths are checked here; the container script checks them again.
 */
export async function buildSyncArchive(files: ArchiveFile[], deletions: string[]): Promise<Buffer> {
  const tar = await packTar((p) => {
    for (const f of files) {
      assertSafeRelative(f.path);
      p.entry({ name: `files/${f.path}`, mode: f.mode & 0o777, mtime: f.mtime, type: 'file' }, f.content);
    }
    if (files.length && files.length <= LISTED_FILES_MAX) {
      p.entry(
        { name: '.sandpiper/files', mode: 0o644, mtime: new Date() },
        Buffer.from(files.map((f) => f.path).join('\n') + '\n'),
      );
    }
    if (deletions.length) {
      deletions.forEach(assertSafeRelative);
      p.entry({ name: '.sandpiper/delete', mode: 0o644, mtime: new Date() }, Buffer.from(deletions.join('\n') + '\n'));
    }
  });
  return padToRecord(tar);
}

export function padToRecord(tar: Buffer): Buffer {
  const size = Math.max(TAR_RECORD, Math.ceil(tar.length / TAR_RECORD) * TAR_RECORD);
  return size === tar.length ? tar : Buffer.concat([tar, Buffer.alloc(size - tar.length)]);
}

/** An entry of a hand-made archive: any type tar-stream writes (links, devices), for tests of the container side. */
export interface RawEntry {
  name: string;
  content?: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'fifo' | 'character-device' | 'block-device';
  linkname?: string;
  mode?: number;
}

/** Builds an archive without the safety checks: only for tests that prove the container refuses it. */
export async function buildUncheckedArchive(entries: RawEntry[]): Promise<Buffer> {
  const tar = await packTar((p) => {
    for (const e of entries) {
      const type = e.type ?? 'file';
      const header = { name: e.name, mode: e.mode ?? 0o644, type, linkname: e.linkname, devmajor: 1, devminor: 3 };
      p.entry(header, type === 'file' ? Buffer.from(e.content ?? '') : Buffer.alloc(0));
    }
  });
  return padToRecord(tar);
}
