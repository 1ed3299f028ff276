import * as fs from 'node:fs';
import * as path from 'node:path';
import ignore from 'ignore';
import { pack } from 'tar-stream';

/**
 * The build context as a tar, leaving out what `.dockerignore` names (the `ignore` package follows the same
 * gitignore-style patterns closely enough for the common cases). The Dockerfile always goes in.
 */
export async function buildContextTar(contextDir: string, dockerfile: string): Promise<Buffer> {
  const ig = ignore();
  const dockerignore = path.join(contextDir, '.dockerignore');
  if (fs.existsSync(dockerignore)) ig.add(fs.readFileSync(dockerignore, 'utf8'));
  const dockerfileRel = path.relative(contextDir, path.resolve(contextDir, dockerfile)).split(path.sep).join('/');
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve, reject) => {
    p.on('end', resolve);
    p.on('error', reject);
  });
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
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}
