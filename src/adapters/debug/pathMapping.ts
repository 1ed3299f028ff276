import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

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
    const remote = scriptUrlOrPath.startsWith('file://') ? fileURLToPath(scriptUrlOrPath, { windows: false }) : scriptUrlOrPath;
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
