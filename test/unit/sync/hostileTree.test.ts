import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  applyCommand,
  hashCommand,
  parseRefusals,
  EXIT_REFUSED,
  EXIT_TOOLS_MISSING,
} from '../../../src/core/sync/containerScript';
import { buildSyncArchive, buildUncheckedArchive, type RawEntry } from '../../../src/core/infra/tar';

/** Runs a command like kwok's exec: in a folder, stdin written and never closed; PATH may be replaced. */
function run(
  cwd: string,
  command: string[],
  stdin: Buffer | undefined,
  env: Record<string, string>,
): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0], command.slice(1), { cwd, env: { ...process.env, ...env } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stderr }));
    child.stdin.on('error', () => undefined);
    if (stdin) child.stdin.write(stdin);
  });
}

const file = (p: string, text: string) => ({ path: p, content: Buffer.from(text), mode: 0o644, mtime: new Date() });

/** Every file under dir with its content (links as "-> target"), to prove nothing there changed. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      const rel = path.relative(dir, full);
      if (e.isSymbolicLink()) out[rel] = `-> ${fs.readlinkSync(full)}`;
      else if (e.isDirectory()) {
        out[rel + '/'] = '';
        walk(full);
      } else out[rel] = fs.readFileSync(full, 'utf8');
    }
  };
  walk(dir);
  return out;
}

/** A folder whose PATH holds busybox's applets, so `sh`, `tar`, `find` ... are busybox's. */
function busyboxPath(): string {
  const bb = ['/usr/bin/busybox', '/bin/busybox'].find((p) => fs.existsSync(p));
  assert.ok(bb, 'busybox is not installed on this machine (apt-get install busybox-static; the testbed installs it)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-busybox-path-'));
  for (const applet of execFileSync(bb, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean))
    fs.symlinkSync(bb, path.join(dir, applet));
  return dir;
}

for (const flavour of ['dash + GNU tar (this machine)', 'busybox sh + tar']) {
  describe(`container apply script against hostile trees: ${flavour}`, () => {
    let dir: string;
    let root: string;
    let outside: string;
    let env: Record<string, string>;
    let bbPath: string | undefined;
    before(() => {
      if (flavour.startsWith('busybox')) bbPath = busyboxPath();
    });
    after(() => bbPath && fs.rmSync(bbPath, { recursive: true, force: true }));
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-hostile-'));
      root = path.join(dir, 'root');
      outside = path.join(dir, 'outside');
      fs.mkdirSync(path.join(root, 't'), { recursive: true });
      fs.mkdirSync(path.join(outside, 'sub'), { recursive: true });
      fs.writeFileSync(path.join(outside, 'victim.txt'), 'original');
      env = bbPath ? { PATH: `${bbPath}:${process.env.PATH}` } : {};
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const apply = async (tar: Buffer) =>
      run(dir, applyCommand(path.join(root, 't'), tar.length, { kind: 'none' }), tar, env);

    for (const count of [2, 80]) {
      it(`refuses, by name, files whose folder is a symlink already in the target; the rest land (${count} files)`, async () => {
        const before = snapshot(outside);
        fs.symlinkSync(outside, path.join(root, 't/src'));
        fs.symlinkSync('../../outside', path.join(root, 't/rel'));
        const others = Array.from({ length: count - 2 }, (_, i) => file(`ok/f${i}.txt`, `ok${i}`));
        const tar = await buildSyncArchive(
          [file('src/victim.txt', 'pwned'), file('rel/sub/new.txt', 'pwned'), ...others],
          [],
        );
        const r = await apply(tar);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(snapshot(outside), before, 'nothing outside the target changed');
        const refused = parseRefusals(r.stderr)
          .map((x) => x.path)
          .sort();
        assert.deepEqual(refused, ['rel/sub/new.txt', 'src/victim.txt']);
        for (const f of others)
          assert.equal(fs.readFileSync(path.join(root, 't', f.path), 'utf8'), f.content.toString());
        assert.equal(fs.readlinkSync(path.join(root, 't/src')), outside, 'the link itself is left alone');
      });
    }

    it("refuses a deletion through a symlinked folder, and deletes a link (not its target) in the file's place", async () => {
      const before = snapshot(outside);
      fs.symlinkSync(outside, path.join(root, 't/src'));
      fs.symlinkSync(path.join(outside, 'victim.txt'), path.join(root, 't/link.txt'));
      fs.symlinkSync(path.join(outside, 'sub'), path.join(root, 't/linkdir'));
      const tar = await buildSyncArchive([], ['src/victim.txt', 'src', 'link.txt', 'linkdir']);
      const r = await apply(tar);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(
        parseRefusals(r.stderr).map((x) => x.path),
        ['src/victim.txt'],
      );
      assert.deepEqual(snapshot(outside), before);
      assert.deepEqual(fs.readdirSync(path.join(root, 't')), [], 'the links themselves are gone');
    });

    it("replaces a symlink in the file's own place with the file, never writing through it", async () => {
      const before = snapshot(outside);
      fs.symlinkSync(path.join(outside, 'victim.txt'), path.join(root, 't/config.txt'));
      fs.symlinkSync(path.join(outside, 'sub'), path.join(root, 't/dirlink'));
      const r = await apply(await buildSyncArchive([file('config.txt', 'mine'), file('dirlink', 'a file now')], []));
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(snapshot(outside), before);
      assert.equal(fs.lstatSync(path.join(root, 't/config.txt')).isFile(), true);
      assert.equal(fs.readFileSync(path.join(root, 't/config.txt'), 'utf8'), 'mine');
      assert.equal(fs.readFileSync(path.join(root, 't/dirlink'), 'utf8'), 'a file now');
    });

    it('refuses a file where a folder or a plain file is in the way, by name', async () => {
      fs.mkdirSync(path.join(root, 't/adir'));
      fs.writeFileSync(path.join(root, 't/plain'), 'x');
      const r = await apply(
        await buildSyncArchive([file('adir', 'f'), file('plain/inner.txt', 'f'), file('fine.txt', 'f')], []),
      );
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(
        parseRefusals(r.stderr)
          .map((x) => x.path)
          .sort(),
        ['adir', 'plain/inner.txt'],
      );
      assert.equal(fs.readFileSync(path.join(root, 't/fine.txt'), 'utf8'), 'f');
    });

    const forged: Array<[string, RawEntry]> = [
      ['a hard link to a file of the archive', { name: 'files/hard.txt', type: 'link', linkname: 'files/ok.txt' }],
      ['a hard link to a file outside', { name: 'files/hard.txt', type: 'link', linkname: '' }],
      ['a symbolic link', { name: 'files/sym', type: 'symlink', linkname: '/' }],
      ['a fifo', { name: 'files/pipe', type: 'fifo' }],
      ['a character device', { name: 'files/null', type: 'character-device' }],
      ['a name with a newline', { name: 'files/new\nline.txt', content: 'x' }],
    ];
    for (const [what, entry] of forged) {
      it(`refuses a whole archive holding ${what}, naming it, and writes nothing`, async () => {
        const e = { ...entry, linkname: entry.linkname === '' ? path.join(outside, 'victim.txt') : entry.linkname };
        const before = snapshot(outside);
        const tar = await buildUncheckedArchive([
          { name: 'files/ok.txt', content: 'ok' },
          e,
          { name: 'files/zz.txt', content: 'pwned' },
        ]);
        const r = await apply(tar);
        assert.equal(r.code, EXIT_REFUSED, r.stderr);
        // busybox lists a name with a newline as two lines: one of them is named.
        const named = parseRefusals(r.stderr)
          .map((x) => x.path)
          .join('\n');
        assert.ok(
          e.name
            .replace(/^files\//, '')
            .split('\n')
            .some((part) => named.includes(part)),
          `${e.name} named in:\n${r.stderr}`,
        );
        assert.deepEqual(snapshot(path.join(root, 't')), {}, 'nothing written into the target');
        assert.deepEqual(snapshot(outside), before);
      });
    }

    it('carries odd but honest names intact', async () => {
      const names = [
        'sp ace.txt',
        ' lead',
        'trail ',
        '-dash',
        'star*',
        'q"uote\'s',
        'dollar$HOME',
        'back`tick`',
        'café/日本.txt',
        'emoji 🎉',
        '1:2',
        '[x]',
      ];
      const r = await apply(
        await buildSyncArchive(
          names.map((n) => file(n, `<${n}>`)),
          [],
        ),
      );
      assert.equal(r.code, 0, r.stderr);
      for (const n of names) assert.equal(fs.readFileSync(path.join(root, 't', n), 'utf8'), `<${n}>`);
    });

    it(
      flavour.startsWith('busybox')
        ? 'needs nothing but busybox on PATH'
        : 'names the missing tools when the container lacks them (exit 5)',
      async () => {
        const shOnly = path.join(dir, 'bin');
        fs.mkdirSync(shOnly);
        fs.symlinkSync(fs.realpathSync(bbPath ? path.join(bbPath, 'sh') : '/bin/sh'), path.join(shOnly, 'sh'));
        const tar = await buildSyncArchive([file('a.txt', 'a')], []);
        const noTools = { ...env, PATH: shOnly };
        const r = await run(
          dir,
          [path.join(shOnly, 'sh'), ...applyCommand(path.join(root, 't'), tar.length, { kind: 'none' }).slice(1)],
          tar,
          noTools,
        );
        const h = await run(
          dir,
          [path.join(shOnly, 'sh'), ...hashCommand(path.join(root, 't')).slice(1)],
          undefined,
          noTools,
        );
        if (bbPath) {
          // busybox's sh runs its own applets whatever PATH says.
          assert.equal(r.code, 0, r.stderr);
          assert.equal(h.code, 0, h.stderr);
          return;
        }
        assert.equal(r.code, EXIT_TOOLS_MISSING, r.stderr);
        assert.match(r.stderr, /missing tools: head tar grep find mkdir mv rm/);
        assert.equal(h.code, EXIT_TOOLS_MISSING);
        assert.match(h.stderr, /missing tools: find md5sum/);
      },
    );
  });
}
