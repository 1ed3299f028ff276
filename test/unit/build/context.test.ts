import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { contentTag, contextFiles, contextHash } from '../../../src/core/build/context';
import { buildContextTar } from '../../../src/core/infra/docker';

function tree(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-unit-ctx-'));
  for (const [rel, body] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), body);
  }
  return dir;
}

const names = (dir: string, dockerfile = 'Dockerfile') => contextFiles(dir, dockerfile).map((f) => f.rel);

describe('build context: files, .dockerignore (Docker rules) and content hash', () => {
  const made: string[] = [];
  const make = (files: Record<string, string>) => {
    const dir = tree(files);
    made.push(dir);
    return dir;
  };
  after(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('lists every file, sorted, with the Dockerfile and .dockerignore even when ignored', () => {
    const dir = make({
      Dockerfile: 'FROM x\n',
      '.dockerignore': 'Dockerfile\n.dockerignore\nnode_modules\n*.log\n',
      'src/b.js': 'b',
      'src/a.js': 'a',
      'debug.log': 'x',
      'node_modules/x/index.js': 'x',
    });
    assert.deepEqual(names(dir), ['.dockerignore', 'Dockerfile', 'src/a.js', 'src/b.js']);
  });

  it('anchors patterns at the context root, as Docker does (a gitignore matcher would not)', () => {
    const dir = make({ Dockerfile: '', '.dockerignore': 'secret.txt\n', 'secret.txt': 's', 'sub/secret.txt': 'kept' });
    assert.deepEqual(names(dir), ['.dockerignore', 'Dockerfile', 'sub/secret.txt']);
  });

  it('re-includes a file under an excluded folder with a ! exception, as Docker does', () => {
    const dir = make({
      Dockerfile: '',
      '.dockerignore': 'docs\n!docs/keep.md\n',
      'docs/keep.md': 'k',
      'docs/drop.md': 'd',
    });
    assert.deepEqual(names(dir), ['.dockerignore', 'Dockerfile', 'docs/keep.md']);
  });

  it('sends a symlink as a link, not its target', async () => {
    const dir = make({ Dockerfile: '', 'real.txt': 'r' });
    fs.symlinkSync('real.txt', path.join(dir, 'link.txt'));
    const link = contextFiles(dir, 'Dockerfile').find((f) => f.rel === 'link.txt');
    assert.equal(link?.linkTarget, 'real.txt');
    assert.ok((await buildContextTar(dir, 'Dockerfile')).includes(Buffer.from('real.txt')));
  });

  it('hashes the same content the same, wherever it is and whenever it was written', () => {
    const files = { Dockerfile: 'FROM x\n', 'src/a.js': 'a' };
    const one = make(files);
    const two = make(files);
    fs.utimesSync(path.join(two, 'src/a.js'), new Date(1000), new Date(1000));
    assert.equal(contextHash(one, 'Dockerfile'), contextHash(two, 'Dockerfile'));
    assert.match(contentTag(contextHash(one, 'Dockerfile')), /^sp-[0-9a-f]{12}$/);
  });

  it('changes with a file content, a new file, a file mode or the Dockerfile named', () => {
    const dir = make({ Dockerfile: 'FROM x\n', 'Dockerfile.dev': 'FROM y\n', 'src/a.js': 'a' });
    const seen = new Set([contextHash(dir, 'Dockerfile')]);
    const changed = (what: string, change: () => void, dockerfile = 'Dockerfile') => {
      change();
      const h = contextHash(dir, dockerfile);
      assert.ok(!seen.has(h), `${what} did not change the hash`);
      seen.add(h);
    };
    changed('a content', () => fs.writeFileSync(path.join(dir, 'src/a.js'), 'a2'));
    changed('a new file', () => fs.writeFileSync(path.join(dir, 'src/b.js'), 'b'));
    changed('a mode', () => fs.chmodSync(path.join(dir, 'src/b.js'), 0o755));
    changed('a rename', () => fs.renameSync(path.join(dir, 'src/b.js'), path.join(dir, 'src/c.js')));
    changed('the Dockerfile', () => undefined, 'Dockerfile.dev');
  });

  it('does not change with a change to an ignored file', () => {
    const dir = make({ Dockerfile: '', '.dockerignore': 'notes/\n*.md\n', 'notes/a.txt': '1', 'README.md': '1' });
    const before = contextHash(dir, 'Dockerfile');
    fs.writeFileSync(path.join(dir, 'notes/a.txt'), '2');
    fs.writeFileSync(path.join(dir, 'README.md'), '2');
    fs.writeFileSync(path.join(dir, 'notes/new.txt'), 'new');
    assert.equal(contextHash(dir, 'Dockerfile'), before);
  });
});
