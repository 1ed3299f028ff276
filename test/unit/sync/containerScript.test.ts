import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applyCommand, hashCommand, EXIT_REFUSED } from '../../../src/core/sync/containerScript';
import { buildSyncArchive, buildUncheckedArchive, TAR_RECORD } from '../../../src/core/infra/tar';
import { parseHashList, md5 } from '../../../src/core/sync/podSync';

/** Runs a command the way kwok runs exec: in a folder, stdin written but never closed. */
function runLikeExec(
  cwd: string,
  command: string[],
  stdin?: Buffer,
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0], command.slice(1), { cwd, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.on('error', () => undefined);
    if (stdin) child.stdin.write(stdin);
  });
}

const file = (p: string, text: string) => ({ path: p, content: Buffer.from(text), mode: 0o644, mtime: new Date() });

describe('container apply script (run by sh on this machine, stdin left open)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-script-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes files and nested folders, then deletes, under the target', async () => {
    fs.mkdirSync(path.join(dir, 'app/src'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'app/src/old.txt'), 'old');
    const tar = await buildSyncArchive([file('index.js', 'v1'), file('lib/deep/a.js', 'A')], ['old.txt']);
    assert.equal(tar.length % TAR_RECORD, 0);
    const r = await runLikeExec(dir, applyCommand(path.join(dir, 'app/src'), tar.length, { kind: 'none' }), tar);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.readFileSync(path.join(dir, 'app/src/index.js'), 'utf8'), 'v1');
    assert.equal(fs.readFileSync(path.join(dir, 'app/src/lib/deep/a.js'), 'utf8'), 'A');
    assert.equal(fs.existsSync(path.join(dir, 'app/src/old.txt')), false);
    assert.deepEqual(
      fs.readdirSync(path.join(dir, 'app/src')).sort(),
      ['index.js', 'lib'],
      'no staging folder left behind',
    );
  });

  it('runs the reload command in the exec folder after the files are in place', async () => {
    const tar = await buildSyncArchive([file('a.txt', 'new')], []);
    const reload = { kind: 'command' as const, command: ['sh', '-c', 'cat app/a.txt > reloaded'] };
    const r = await runLikeExec(dir, applyCommand(path.join(dir, 'app'), tar.length, reload), tar);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.readFileSync(path.join(dir, 'reloaded'), 'utf8'), 'new');
  });

  // Node's --watch follows a file's inode: after one rename it watches a deleted file and never restarts again.
  for (const count of [2, 300]) {
    it(`with no reload action, overwrites existing files in place (same inode), ${count} files in one batch`, async () => {
      const target = path.join(dir, 'app');
      fs.mkdirSync(target);
      const names = Array.from({ length: count }, (_, i) => `m${i}.js`);
      for (const n of names) fs.writeFileSync(path.join(target, n), 'old');
      fs.writeFileSync(path.join(target, 'tool.sh'), 'old', { mode: 0o644 });
      const inodes = names.map((n) => fs.statSync(path.join(target, n)).ino);
      const toolInode = fs.statSync(path.join(target, 'tool.sh')).ino;
      const tar = await buildSyncArchive(
        [
          ...names.map((n) => file(n, `new ${n}`)),
          file('added.js', 'added'),
          { path: 'tool.sh', content: Buffer.from('#!/bin/sh'), mode: 0o755, mtime: new Date() },
        ],
        [],
      );
      const r = await runLikeExec(dir, applyCommand(target, tar.length, { kind: 'none' }), tar);
      assert.equal(r.code, 0, r.stderr);
      names.forEach((n, i) => {
        assert.equal(fs.readFileSync(path.join(target, n), 'utf8'), `new ${n}`);
        assert.equal(fs.statSync(path.join(target, n)).ino, inodes[i], `${n} was replaced, not overwritten`);
      });
      assert.equal(fs.readFileSync(path.join(target, 'added.js'), 'utf8'), 'added');
      // A file that becomes executable is renamed in, so its mode is the archive's.
      assert.equal(fs.statSync(path.join(target, 'tool.sh')).mode & 0o777, 0o755);
      assert.notEqual(fs.statSync(path.join(target, 'tool.sh')).ino, toolInode);
      assert.deepEqual(
        fs.readdirSync(target).filter((n) => n.startsWith('.')),
        [],
        'no staging folder left',
      );
    });
  }

  it('never writes in place through a hard link (its other name, maybe outside the target, keeps its content)', async () => {
    const target = path.join(dir, 'app');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(dir, 'outside.txt'), 'precious');
    fs.linkSync(path.join(dir, 'outside.txt'), path.join(target, 'a.js'));
    const tar = await buildSyncArchive([file('a.js', 'new')], []);
    const r = await runLikeExec(dir, applyCommand(target, tar.length, { kind: 'none' }), tar);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.readFileSync(path.join(target, 'a.js'), 'utf8'), 'new');
    assert.equal(fs.readFileSync(path.join(dir, 'outside.txt'), 'utf8'), 'precious');
  });

  it('with a reload action, renames files into place (a reader never sees half a file)', async () => {
    const target = path.join(dir, 'app');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'a.js'), 'old');
    const before = fs.statSync(path.join(target, 'a.js')).ino;
    const tar = await buildSyncArchive([file('a.js', 'new')], []);
    const reload = { kind: 'command' as const, command: ['true'] };
    const r = await runLikeExec(dir, applyCommand(target, tar.length, reload), tar);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.readFileSync(path.join(target, 'a.js'), 'utf8'), 'new');
    assert.notEqual(fs.statSync(path.join(target, 'a.js')).ino, before);
  });

  for (const name of ['files/../../escape.txt', '/tmp/abs-escape.txt', 'files/a/../../../escape.txt']) {
    it(`refuses an archive entry ${name} and writes nothing`, async () => {
      const tar = await buildUncheckedArchive([
        { name: 'files/ok.txt', content: 'ok' },
        { name, content: 'bad' },
      ]);
      const r = await runLikeExec(dir, applyCommand(path.join(dir, 'root/t'), tar.length, { kind: 'none' }), tar);
      assert.equal(r.code, EXIT_REFUSED, r.stderr);
      assert.equal(fs.existsSync(path.join(dir, 'root/t/ok.txt')), false);
      assert.equal(fs.existsSync(path.join(dir, 'escape.txt')), false);
      assert.equal(fs.existsSync(path.join(dir, 'root/escape.txt')), false);
    });
  }

  it('refuses a deletion list that escapes the target', async () => {
    fs.mkdirSync(path.join(dir, 'root'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'root/keep.txt'), 'keep');
    const tar = await buildUncheckedArchive([{ name: '.sandpiper/delete', content: '../keep.txt\n' }]);
    const r = await runLikeExec(dir, applyCommand(path.join(dir, 'root/t'), tar.length, { kind: 'none' }), tar);
    assert.equal(r.code, EXIT_REFUSED);
    assert.equal(fs.readFileSync(path.join(dir, 'root/keep.txt'), 'utf8'), 'keep');
  });

  it('refuses a file list that points outside the staging folder', async () => {
    const tar = await buildUncheckedArchive([
      { name: 'files/ok.txt', content: 'ok' },
      { name: '.sandpiper/files', content: 'ok.txt\n../../../escape.txt\n' },
    ]);
    const r = await runLikeExec(dir, applyCommand(path.join(dir, 'root/t'), tar.length, { kind: 'none' }), tar);
    assert.equal(r.code, EXIT_REFUSED);
    assert.equal(fs.existsSync(path.join(dir, 'root/t/ok.txt')), false);
  });

  it('moves a large batch folder by folder (no file list) just as completely', async () => {
    const many = Array.from({ length: 300 }, (_, i) => file(`d${i % 7}/f${i}.txt`, `n${i}`));
    const tar = await buildSyncArchive(many, []);
    const r = await runLikeExec(dir, applyCommand(path.join(dir, 't'), tar.length, { kind: 'none' }), tar);
    assert.equal(r.code, 0, r.stderr);
    const count = fs
      .readdirSync(path.join(dir, 't'))
      .reduce((n, d) => n + fs.readdirSync(path.join(dir, 't', d)).length, 0);
    assert.equal(count, 300);
    assert.equal(fs.readFileSync(path.join(dir, 't/d3/f297.txt'), 'utf8'), 'n297');
  });

  it('lists md5 hashes that match the local ones', async () => {
    const tar = await buildSyncArchive([file('a.txt', 'alpha'), file('sub/b.txt', 'beta')], []);
    await runLikeExec(dir, applyCommand(path.join(dir, 't'), tar.length, { kind: 'none' }), tar);
    const r = await runLikeExec(dir, hashCommand(path.join(dir, 't')));
    const hashes = parseHashList(r.stdout);
    assert.deepEqual([...hashes.keys()].sort(), ['a.txt', 'sub/b.txt']);
    assert.equal(hashes.get('sub/b.txt'), md5(Buffer.from('beta')));
  });

  it('lists nothing for a target that does not exist yet', async () => {
    const r = await runLikeExec(dir, hashCommand(path.join(dir, 'nothing')));
    assert.equal(r.code, 0);
    assert.equal(parseHashList(r.stdout).size, 0);
  });
});
