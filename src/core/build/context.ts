import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import dockerignore from '@balena/dockerignore';

/** One entry of a build context, by its path relative to the context folder ('/'-separated). */
export interface ContextFile {
  rel: string;
  full: string;
  /** Permission bits (0o777 at most). */
  mode: number;
  /** A symlink is sent as a link, as `docker build` sends it, never followed. */
  linkTarget?: string;
}

/**
 * What `docker build` would send: every file and symlink under `contextDir` that `.dockerignore` does not exclude
 * (Docker's own matching rules: root-anchored patterns, `!` exceptions inside excluded folders), sorted by path.
 * The Dockerfile and `.dockerignore` always go in, as the engine reads them from the context.
 */
export function contextFiles(contextDir: string, dockerfile: string): ContextFile[] {
  const ig = dockerignore();
  const ignoreFile = path.join(contextDir, '.dockerignore');
  const patterns = fs.existsSync(ignoreFile) ? fs.readFileSync(ignoreFile, 'utf8') : '';
  ig.add(patterns);
  // An exception may re-include a file under an excluded folder, so such folders are walked all the same.
  const mayReinclude = /^\s*!/m.test(patterns);
  const keep = new Set([relative(contextDir, path.resolve(contextDir, dockerfile)), '.dockerignore']);
  const files: ContextFile[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      const rel = relative(contextDir, full);
      if (e.isDirectory()) {
        if (mayReinclude || !ig.ignores(rel)) walk(full);
        continue;
      }
      if (!keep.has(rel) && ig.ignores(rel)) continue;
      if (e.isFile()) files.push({ rel, full, mode: fs.statSync(full).mode & 0o777 });
      else if (e.isSymbolicLink()) files.push({ rel, full, mode: 0o777, linkTarget: fs.readlinkSync(full) });
    }
  };
  walk(contextDir);
  return files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

function relative(root: string, full: string): string {
  return path.relative(root, full).split(path.sep).join('/');
}

/**
 * A hash of what the build sees: the Dockerfile's name and, for each context file, its path, mode and content
 * (a symlink: its target). Times and owners are left out, so a fresh checkout of the same sources hashes the same.
 */
export function contextHash(
  contextDir: string,
  dockerfile: string,
  files = contextFiles(contextDir, dockerfile),
): string {
  const h = crypto.createHash('sha256');
  h.update(`dockerfile\0${relative(contextDir, path.resolve(contextDir, dockerfile))}\0`);
  for (const f of files) {
    h.update(`${f.rel}\0${f.mode.toString(8)}\0`);
    if (f.linkTarget !== undefined) h.update(`link\0${f.linkTarget}\0`);
    else h.update(`file\0${crypto.createHash('sha256').update(fs.readFileSync(f.full)).digest('hex')}\0`);
  }
  return h.digest('hex');
}

/** The tag an image of this content gets: the same sources always map to the same tag. */
export function contentTag(hash: string): string {
  return `sp-${hash.slice(0, 12)}`;
}
