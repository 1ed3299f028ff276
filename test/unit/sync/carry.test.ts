import { strict as assert } from 'node:assert';
import { extract } from 'tar-stream';
import { SandpiperError } from '../../../src/core/errors';
import { buildSyncArchive, carryProblem } from '../../../src/core/infra/tar';
import { parseRefusals, scriptFailure } from '../../../src/core/sync/containerScript';

const file = (p: string) => ({ path: p, content: Buffer.from(p), mode: 0o644, mtime: new Date() });

/** Entry names and types of a tar. */
async function entries(tar: Buffer): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  const x = extract();
  x.on('entry', (h, stream, next) => {
    out.push([h.name, h.type ?? 'file']);
    stream.on('end', next);
    stream.resume();
  });
  const done = new Promise<void>((resolve) => x.on('finish', () => resolve()));
  x.end(tar);
  await done;
  return out;
}

describe('which names the sync can carry', () => {
  for (const [name, why] of [
    ['weird\\name.txt', /backslash/],
    ['new\nline.txt', /control character/],
    ['tab\there.txt', /control character/],
    ['bad-\uFFFD-utf8.txt', /not valid UTF-8/],
    ['a -> b', /" -> "/],
    ['../up.txt', /escape/],
    ['/abs.txt', /escape/],
    ['a//b', /escape/],
  ] as const) {
    it(`refuses ${JSON.stringify(name)} with a reason`, async () => {
      assert.match(carryProblem(name) ?? '', why);
      await assert.rejects(
        buildSyncArchive([file(name)], []),
        (e: unknown) => e instanceof SandpiperError && e.code === 'sync-path-refused',
      );
    });
  }

  it('carries spaces, quotes, globs, unicode and leading dashes', () => {
    for (const n of ['sp ace.txt', 'q"uote\'s', 'star*', 'café/日本.txt', '-dash', 'emoji 🎉', 'x->y'])
      assert.equal(carryProblem(n), undefined, n);
  });

  it('builds archives of regular files and folders only, whatever the names', async () => {
    const tar = await buildSyncArchive([file('a/b c.txt'), file('é.txt')], ['gone.txt']);
    const types = new Set((await entries(tar)).map(([, t]) => t));
    assert.deepEqual([...types], ['file']);
  });
});

describe('reading what the container scripts said', () => {
  it('parses the per-file refusals (tab separated; names may hold colons and spaces)', () => {
    const stderr =
      'tar: noise\nsandpiper-sync: refused\tsrc/a: b.js\tsrc is a symbolic link\nsandpiper-sync: refused\tx\ta folder is in the way\n';
    assert.deepEqual(parseRefusals(stderr), [
      { path: 'src/a: b.js', reason: 'src is a symbolic link' },
      { path: 'x', reason: 'a folder is in the way' },
    ]);
  });

  const tools = (r: { exitCode: number; stdout?: string; stderr?: string; message?: string }) =>
    scriptFailure({ stdout: '', stderr: '', ...r }, 'web-1', 'web', 'Sync into pod');
  /** A failure the exec status reports without an exit code of the script (-1), only a message. */
  const statusOnly = (message: string) => tools({ exitCode: -1, message });

  it('names the missing tools the script found (exit 5), with what to do', () => {
    const e = tools({ exitCode: 5, stderr: 'sandpiper-sync: missing tools: tar find\n' });
    assert.equal(e.code, 'sync-tools-missing');
    assert.match(
      e.message,
      /container web of pod web-1: it has no tar, find\. Use a base image with busybox, or point image\.build at a dev stage/,
    );
    assert.match(e.hint ?? '', /sh, tar, head/);
  });

  it('says there is no /bin/sh when docker/runc could not start it (126 and its message)', () => {
    const said =
      'OCI runtime exec failed: exec failed: unable to start container process: exec: "sh": executable file not found in $PATH: unknown';
    const e = tools({ exitCode: 126, stdout: `\u0001\u0000\u0000\u0000${said}\r\n` });
    assert.equal(e.code, 'sync-tools-missing');
    assert.match(e.message, /has no \/bin\/sh to run the sync\. Use a base image with busybox/);
    assert.match(e.hint ?? '', /The runtime said: OCI runtime exec failed: .*executable file not found/);
  });

  it('says there is no /bin/sh when a kubelet reports it in the status without a code', () => {
    const e = statusOnly(
      'failed to exec in container: OCI runtime exec failed: exec: "sh": stat /bin/sh: no such file or directory: unknown',
    );
    assert.equal(e.code, 'sync-tools-missing');
  });

  it('keeps other failures retryable (kwok with no exec binding, a plain error)', () => {
    const kwok = statusOnly(
      'Internal error occurred: error executing command in container: no exec found for container "web" in pod "ns/web-1"',
    );
    assert.equal(kwok.code, 'sync-failed');
    assert.match(kwok.message, /no exec found/);
    assert.equal(tools({ exitCode: 1, stderr: 'sandpiper-sync: cannot move a into /app\n' }).code, 'sync-failed');
  });
});
