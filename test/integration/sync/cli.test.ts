import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { testbedEnv } from '../../support/testbed';
import { SyncFixture } from './syncFixture';

const REPO = path.resolve(__dirname, '../../..');

function sandpiper(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        pathToFileURL(require.resolve('tsx')).href,
        '-e',
        'require(process.env.SP_MAIN).main(process.argv.slice(1)).then((c) => { process.exitCode = c; })',
        ...args,
      ],
      {
        cwd,
        env: {
          ...testbedEnv(),
          SP_MAIN: path.join(REPO, 'src/cli/main.ts'),
          NODE_PATH: path.join(REPO, 'node_modules'),
        },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('sandpiper sync <env> --once (CLI against a pod on the real node)', function () {
  this.timeout(120_000);
  let f: SyncFixture;
  let pod: string;

  before(async () => {
    f = await SyncFixture.create('sync-cli');
    f.write(
      'sandpiper.yaml',
      [
        'services:',
        '  web:',
        '    manifests: k8s/',
        '    container: web',
        '    sync:',
        '      paths: [src/]',
        '      target: /app',
        '      reload: { signal: SIGHUP }',
        '',
      ].join('\n'),
    );
    f.write('src/index.html', 'from the cli');
    f.write('src/nested/deep.txt', 'deep');
    await f.createDeployment(1);
    [pod] = await f.readyPods(1);
  });

  after(async () => f?.dispose());

  it('sends what differs, reloads, prints JSON events and exits 0', async () => {
    const r = await sandpiper(['sync', f.namespace, '--once', '--json'], f.root);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; state?: string; deployment?: string });
    assert.equal(events.find((e) => e.event === 'started')?.deployment, 'web');
    assert.equal(events.at(-1)!.event, 'done');
    assert.equal(await f.read(pod, '/app/nested/deep.txt'), 'deep');
    assert.deepEqual(await f.get(pod, 'index.html'), { status: 200, body: 'from the cli' });
  });

  it('says which service to pick when none has a sync section', async () => {
    f.write('sandpiper.yaml', 'services:\n  web:\n    manifests: k8s/\n');
    const r = await sandpiper(['sync', f.namespace, '--once'], f.root);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /No service has a sync section/);
  });
});
