import * as fs from 'node:fs';
import * as path from 'node:path';
import ignore from 'ignore';
import type { Ignore } from 'ignore';
import type { SyncConfig } from '../config/types';

/** Where a local file goes in the container, relative to the sync target. */
export interface MappedPath {
  local: string;
  remote: string;
}

/**
 * Maps local files to the container and decides what travels: a sync path that is a folder sends its
 * contents into the target, a file path goes to target/<name>. `.gitignore` (at the config root) and
 * `sync.exclude` decide what is left out; `.git` never travels.
 */
export class SyncPathMapper {
  private readonly roots: Array<{ local: string; isDir: boolean }>;
  private readonly ignored: Ignore;

  constructor(
    readonly configRoot: string,
    readonly sync: SyncConfig,
  ) {
    this.roots = sync.paths.map((p) => {
      const local = path.resolve(configRoot, p);
      const isDir = p.endsWith('/') || isDirectory(local);
      return { local, isDir };
    });
    this.ignored = ignore().add(['.git/', '.sandpiper/']);
    const gitignore = path.join(configRoot, '.gitignore');
    if (fs.existsSync(gitignore)) this.ignored.add(fs.readFileSync(gitignore, 'utf8'));
    this.ignored.add(sync.exclude);
  }

  /** The container path (relative to the target) of a local file inside a sync path, else undefined. */
  toRemote(localFile: string): string | undefined {
    const abs = path.resolve(localFile);
    for (const root of this.roots) {
      if (root.isDir) {
        const rel = path.relative(root.local, abs);
        if (rel && !rel.startsWith('..') && !path.isAbsolute(rel)) return rel.split(path.sep).join('/');
      } else if (abs === root.local) {
        return path.basename(abs);
      }
    }
    return undefined;
  }

  /** Whether .gitignore or sync.exclude leave the file out (patterns are relative to the config root). */
  isExcluded(localFile: string, isDir = false): boolean {
    const rel = path.relative(this.configRoot, path.resolve(localFile));
    if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) return false;
    return this.ignored.ignores(rel.split(path.sep).join('/') + (isDir ? '/' : ''));
  }

  /** Every local file that travels, walking the sync paths (for the initial sync). */
  listLocalFiles(): MappedPath[] {
    const out: MappedPath[] = [];
    const walk = (dir: string): void => {
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) {
          if (!this.isExcluded(full, true)) walk(full);
        } else if (e.isFile() && !this.isExcluded(full)) {
          const remote = this.toRemote(full);
          if (remote) out.push({ local: full, remote });
        }
      }
    };
    for (const root of this.roots) {
      if (root.isDir) walk(root.local);
      else if (fs.existsSync(root.local) && !this.isExcluded(root.local))
        out.push({ local: root.local, remote: path.basename(root.local) });
    }
    return out;
  }
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
