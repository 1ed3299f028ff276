// The `sandpiper` launcher the extension puts on the integrated terminal's PATH, run by a real shell.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { launcherFiles } from '../../../src/features/terminal/launcher';

describe('terminal launcher', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), "sp launcher's-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the bundled CLI with this runtime, from any folder, passing arguments and the exit code', () => {
    // A stand-in for dist/cli.js, in a folder whose name needs quoting.
    const ext = path.join(dir, "ext folder 'x'", 'dist');
    mkdirSync(ext, { recursive: true });
    const cli = path.join(ext, 'cli.js');
    writeFileSync(
      cli,
      'exports.main = async (argv) => { console.log(JSON.stringify({ argv, electron: process.env.ELECTRON_RUN_AS_NODE ?? null })); return 3; };',
    );
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    for (const [name, text] of Object.entries(launcherFiles(cli, process.execPath)))
      writeFileSync(path.join(bin, name), text);
    chmodSync(path.join(bin, 'sandpiper'), 0o755);

    const run = spawnSync('sh', ['-c', 'cd / && sandpiper open "my env" --port 8080'], {
      env: { PATH: `${bin}${path.delimiter}/usr/bin:/bin` },
      encoding: 'utf8',
    });
    assert.equal(run.status, 3, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { argv: ['open', 'my env', '--port', '8080'], electron: null });
  });

  it('the Windows wrapper runs the same entry with the same runtime', () => {
    const files = launcherFiles('C:\\ext\\dist\\cli.js', 'C:\\Code\\Code.exe');
    assert.match(files['sandpiper.cmd'], /"C:\\Code\\Code\.exe" "%~dp0sandpiper\.cjs" %\*/);
    assert.match(files['sandpiper.cjs'], /require\("C:\\\\ext\\\\dist\\\\cli\.js"\)/);
  });
});
