import { OutputEvent, TerminatedEvent } from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface ReattachOptions {
  /** Connects and attaches again; throws while the target is not back. */
  connect(): Promise<void>;
  /** True once the client detaches: stop trying without a word. */
  detaching(): boolean;
  /** host:port, for the messages. */
  target(): string;
  /** Sends a DAP event to the client. */
  send(event: DebugProtocol.Event): void;
  /** Wait before the first try; it doubles up to 2 s. */
  firstDelayMs: number;
  /** Give up (and end the session) after this long; ten minutes unless the attach arguments say otherwise. */
  timeoutMs?: number;
}

/**
 * Tries to attach again until the target is back, the client detaches, or the time is up. A restart (a sync
 * reload, a replaced pod) takes from a moment to minutes, so the wait between tries backs off; the session
 * says "re-attached" when it is back and ends with `terminated` only when it gives up.
 */
export async function reattachWithBackoff(o: ReattachOptions): Promise<void> {
  const deadline = Date.now() + (o.timeoutMs ?? 10 * 60_000);
  let delay = o.firstDelayMs;
  while (!o.detaching()) {
    await new Promise((r) => setTimeout(r, delay));
    if (o.detaching()) return;
    try {
      await o.connect();
      o.send(new OutputEvent(`Sandpiper: re-attached to ${o.target()}\n`, 'console'));
      return;
    } catch {
      if (Date.now() > deadline) {
        o.send(new OutputEvent(`Sandpiper: gave up re-attaching to ${o.target()}\n`, 'stderr'));
        o.send(new TerminatedEvent());
        return;
      }
      delay = Math.min(delay * 2, 2000);
    }
  }
}

/** Maps files between the workspace (localRoot) and the container (remoteRoot, always POSIX). */
export class PathMapping {
  private readonly remoteRoot: string;
  private readonly localRoot: string;

  constructor(localRoot: string, remoteRoot: string) {
    this.localRoot = path.resolve(localRoot);
    this.remoteRoot = remoteRoot.replace(/\/+$/, '') || '/';
  }

  /** The container path of a workspace file, or undefined when it lies outside localRoot. */
  toRemote(localPath: string): string | undefined {
    const rel = path.relative(this.localRoot, path.resolve(localPath));
    if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
    return path.posix.join(this.remoteRoot, ...rel.split(path.sep));
  }

  /** The workspace path of a script URL or path the inspector reports; undefined outside remoteRoot. */
  toLocal(scriptUrlOrPath: string): string | undefined {
    const remote = scriptUrlOrPath.startsWith('file://')
      ? fileURLToPath(scriptUrlOrPath, { windows: false })
      : scriptUrlOrPath;
    if (!remote.startsWith('/')) return undefined;
    const rel = path.posix.relative(this.remoteRoot, remote);
    if (rel.startsWith('..') || path.posix.isAbsolute(rel)) return undefined;
    return path.join(this.localRoot, ...rel.split('/'));
  }

  /** A regex matching how Node names the remote script: a plain path (old CJS) or a file URL. */
  static scriptUrlRegex(remotePath: string): string {
    const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    const url = pathToFileURL(remotePath, { windows: false }).href;
    return `^(?:${escape(remotePath)}|${escape(url)})$`;
  }
}
