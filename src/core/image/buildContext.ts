import * as fs from 'node:fs';
import * as path from 'node:path';
import ignore from 'ignore';
import { packTar } from '../tar/packTar';

/**
 * The build context as a tar, leaving out what `.dockerignore` names (the `ignore` package follows the same
 * gitignore-style patterns closely enough for the common cases). The Dockerfile always goes in.
 */
export async function buildContextTar(contextDir: string, dockerfile: string): Promise<Buffer> {
  const ig = ignore();
  const dockerignore = path.join(contextDir, '.dockerignore');
  if (fs.existsSync(dockerignore)) ig.add(fs.readFileSync(dockerignore, 'utf8'));
  const dockerfileRel = path.relative(contextDir, path.resolve(contextDir, dockerfile)).split(path.sep).join('/');
  return packTar((p) => {
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, e.name);
        const rel = path.relative(contextDir, full).split(path.sep).join('/');
        if (e.isDirectory()) {
          if (!ig.ignores(rel + '/')) walk(full);
        } else if (e.isFile() && (rel === dockerfileRel || !ig.ignores(rel))) {
          const st = fs.statSync(full);
          p.entry({ name: rel, mode: st.mode & 0o777, mtime: st.mtime }, fs.readFileSync(full));
        }
      }
    };
    walk(contextDir);
  });
}
