import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import type { ReloadAction } from '../config/types';
import { SandpiperError } from '../errors';
import type { Kube } from '../kube/client';
import { execInPod } from '../kube/exec';
import { buildSyncArchive, type ArchiveFile } from './syncArchive';
import { EXIT_REFUSED, EXIT_RELOAD_FAILED, applyCommand, hashCommand } from './containerScript';
import type { MappedPath } from './syncPaths';

export interface PodRef {
  namespace: string;
  name: string;
  container: string;
}

export interface Batch {
  files: ArchiveFile[];
  deletions: string[];
}

export interface TransferOptions {
  target: string;
  reload: ReloadAction;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** Sends one batch to one pod in one exec: extract, rename into place, delete, reload. */
export async function applyBatchToPod(kube: Kube, pod: PodRef, batch: Batch, opts: TransferOptions): Promise<void> {
  const archive = await buildSyncArchive(batch.files, batch.deletions);
  const result = await execInPod(kube, {
    namespace: pod.namespace,
    pod: pod.name,
    container: pod.container,
    command: applyCommand(opts.target, archive.length, opts.reload),
    stdin: archive,
    signal: opts.signal,
    timeoutMs: opts.timeoutMs ?? 120_000,
  });
  if (result.exitCode === 0) return;
  const said = result.stderr.trim().split('\n').slice(-3).join(' ') || `exit code ${result.exitCode}`;
  if (result.exitCode === EXIT_REFUSED) throw new SandpiperError('sync-path-refused', `Pod ${pod.name} refused the batch: ${said}`, 'Sync only files inside the sync paths.');
  if (result.exitCode === EXIT_RELOAD_FAILED) throw new SandpiperError('sync-reload-failed', `The files reached pod ${pod.name}, but the reload failed: ${said}`, 'Check sync.reload in sandpiper.yaml.');
  if (/not found|No such file/.test(said) && /\b(sh|tar|head|md5sum)\b/.test(said)) {
    throw new SandpiperError('sync-tools-missing', `Pod ${pod.name} lacks a tool the sync needs: ${said}`, 'The image needs sh, tar, head, find and mv (busybox has them).');
  }
  throw new SandpiperError('sync-failed', `Sync into pod ${pod.name} failed: ${said}`);
}

/** md5 of every file under the target in the container, by target-relative path. */
export async function remoteHashes(kube: Kube, pod: PodRef, target: string, signal?: AbortSignal): Promise<Map<string, string>> {
  const result = await execInPod(kube, { namespace: pod.namespace, pod: pod.name, container: pod.container, command: hashCommand(target), signal, timeoutMs: 120_000 });
  if (result.exitCode !== 0) throw new SandpiperError('sync-failed', `Could not list the files in pod ${pod.name}: ${result.stderr.trim() || result.exitCode}`);
  return parseHashList(result.stdout);
}

export function parseHashList(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{32})\s+\*?\.\/(.+)$/.exec(line);
    if (m) map.set(m[2], m[1]);
  }
  return map;
}

export function md5(content: Buffer): string {
  return createHash('md5').update(content).digest('hex');
}

/** Reads local files into archive entries; a file that vanished since the event is dropped here (its delete event follows). */
export async function readLocalFiles(paths: MappedPath[]): Promise<{ files: ArchiveFile[]; missing: MappedPath[] }> {
  const files: ArchiveFile[] = [];
  const missing: MappedPath[] = [];
  // In slices, so a 10,000-file initial sync does not run out of file handles.
  for (let i = 0; i < paths.length; i += 128) {
    await Promise.all(paths.slice(i, i + 128).map(async (p) => {
      try {
        const [content, st] = await Promise.all([fs.readFile(p.local), fs.stat(p.local)]);
        files.push({ path: p.remote, content, mode: st.mode & 0o777, mtime: st.mtime });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'EISDIR') missing.push(p);
        else throw err;
      }
    }));
  }
  return { files, missing };
}

/** The files whose content differs from the container's (by md5), for an initial or repeated full sync. */
export async function differingFiles(local: MappedPath[], remote: Map<string, string>): Promise<ArchiveFile[]> {
  const { files } = await readLocalFiles(local);
  return files.filter((f) => remote.get(f.path) !== md5(f.content));
}
