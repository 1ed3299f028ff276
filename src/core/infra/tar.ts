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

/** Rejects a container-relative path that is absolute, empty, has `..` or characters tar or the shell list can't carry. */
export function assertSafeRelative(p: string): string {
  const parts = p.split('/');
  if (!p || p.startsWith('/') || /^[A-Za-z]:/.test(p) || p.includes('\\') || /[\n\r\0]/.test(p) || parts.some((s) => s === '..' || s === '.' || s === '')) {
    throw new SandpiperError('sync-path-refused', `Refusing to sync "${p.replace(/[\n\r\0]/g, '?')}": it would escape the sync target.`, 'Sync only files inside the sync paths of sandpiper.yaml.');
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
      p.entry({ name: '.sandpiper/files', mode: 0o644, mtime: new Date() }, Buffer.from(files.map((f) => f.path).join('\n') + '\n'));
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

/** Builds an archive without the safety checks: only for tests that prove the container refuses it. */
export async function buildUncheckedArchive(entries: Array<{ name: string; content: string }>): Promise<Buffer> {
  const tar = await packTar((p) => {
    for (const e of entries) p.entry({ name: e.name, mode: 0o644 }, Buffer.from(e.content));
  });
  return padToRecord(tar);
}
