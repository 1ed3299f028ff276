// `sandpiper init` as a user runs it (the built CLI), on a copy of the TypeScript sample workspace.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../../src/core/config/loader';
import { assertBuilt, BIN } from './cliProcess';

const SAMPLE = path.resolve(__dirname, '../../fixtures/workspaces/ts-service');

function sandpiper(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe('sandpiper init', () => {
  let dir: string;

  before(() => assertBuilt());

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sandpiper-cli-init-'));
    await fs.cp(SAMPLE, dir, { recursive: true });
  });

  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it('writes a sandpiper.yaml the loader reads, then refuses to replace it (exit 1) unless --force', async () => {
    const first = await sandpiper(['init'], dir);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /Wrote .*sandpiper\.yaml \(service hello\)/);
    const hello = (await loadConfig(dir)).services.hello;
    assert.equal(hello.debug?.runtime, 'node');
    assert.equal(hello.debug?.port, 9229);
    assert.equal(hello.sync?.target, '/app/dist');
    assert.equal(hello.port, 8080);

    const file = path.join(dir, 'sandpiper.yaml');
    await fs.writeFile(file, '# mine\n');
    const again = await sandpiper(['init'], dir);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists/);
    assert.match(again.stderr, /--force/);
    assert.equal(await fs.readFile(file, 'utf8'), '# mine\n');

    const forced = await sandpiper(['init', '--force', dir], os.tmpdir());
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(await fs.readFile(file, 'utf8'), /hello:/);
  });

  it('--dry-run prints the file and writes nothing', async () => {
    const dry = await sandpiper(['init', '--dry-run', dir], os.tmpdir());
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^# sandpiper\.yaml/);
    assert.match(dry.stdout, /manifests: k8s\//);
    await assert.rejects(fs.access(path.join(dir, 'sandpiper.yaml')));
  });

  it('fails with exit 1 and says what is missing in a folder without manifests', async () => {
    await fs.rm(path.join(dir, 'k8s'), { recursive: true });
    const run = await sandpiper(['init'], dir);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /No Deployment or StatefulSet/);
  });
});
