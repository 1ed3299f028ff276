// `sandpiper open <env>`: the real CLI prints the service's URL, serves it from real containers until Ctrl+C,
// then exits 130 with the local port freed; a missing environment, service or port is said plainly.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deployApp, readyPods } from '../../support/realPods';
import { createNamespace } from '../../support/testbed';
import { NAMED_HTTPD } from '../logs/talker';
import { fetchText } from '../../support/net';
import { CliProcess, assertBuilt, listening } from './cliProcess';

describe('sandpiper open (CLI on the real node)', function () {
  this.timeout(180_000);
  let ns: { name: string; dispose(): Promise<void> };
  let tmp: string;
  const running: CliProcess[] = [];

  before(async () => {
    if (!process.env.SANDPIPER_TEST_CLI) assertBuilt();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-open-cli-'));
    ns = await createNamespace('sp-open-cli');
    await deployApp(ns.name, 'web', 'sandpiper/busybox:latest', { command: NAMED_HTTPD, readinessPath: '/' });
  });

  after(async () => {
    for (const p of running) p.kill();
    await ns?.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  function open(args: string[]): CliProcess {
    const p = new CliProcess(['open', ...args], { cwd: tmp });
    running.push(p);
    return p;
  }

  it('prints the URL on stdout, serves the service through it, and on Ctrl+C exits 130 freeing the port', async () => {
    const [pod] = await readyPods(ns.name, 'app=web');
    // The only workload of the environment: no --service needed, and no sandpiper.yaml in the folder.
    const p = open([ns.name]);
    await p.waitFor(/^http:\/\/127\.0\.0\.1:\d+\/\n/m);
    const url = p.stdout.trim();
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/, `stdout is the URL alone:\n${p.output}`);
    assert.deepEqual(await fetchText(url), { status: 200, body: pod.metadata!.name });
    assert.match(p.stderr, /web:8080/, 'stderr says what is forwarded');

    const port = Number(new URL(url).port);
    const exit = await p.send('SIGINT');
    assert.equal(exit.code, 130, p.output);
    assert.ok(exit.ms < 4000, `stopped in ${exit.ms} ms`);
    assert.equal(await listening(port), false, 'the local port is free after Ctrl+C');
  });

  it('--service and --port choose what is opened; --json says it all', async () => {
    const p = open([ns.name, '--service', 'web', '--port', '8080', '--json']);
    await p.waitFor(/"url"/);
    await p.waitFor(/\}\n/);
    const forward = JSON.parse(p.stdout) as { service: string; remotePort: number; url: string };
    assert.equal(forward.service, 'web');
    assert.equal(forward.remotePort, 8080);
    assert.equal((await fetchText(forward.url)).status, 200);
    assert.equal((await p.send('SIGINT')).code, 130, p.output);
  });

  it('a missing service, environment or port fails at once (exit 1) and says which exist', async () => {
    const ended = async (args: string[]) => {
      const p = open(args);
      const exit = await p.exited;
      return { code: exit.code, stdout: p.stdout, stderr: p.stderr };
    };
    const noService = await ended([ns.name, '--service', 'api']);
    assert.equal(noService.code, 1, noService.stderr);
    assert.equal(noService.stdout, '');
    assert.match(
      noService.stderr,
      new RegExp(`Environment "${ns.name}" has no service "api"\\.\\n  Use one of: web\\.`),
    );

    const noEnv = await ended([`${ns.name}-gone`]);
    assert.equal(noEnv.code, 1, noEnv.stderr);
    assert.match(noEnv.stderr, new RegExp(`No environment "${ns.name}-gone" in context "[^"]+"`));

    const badPort = await ended([ns.name, '--port', 'http']);
    assert.equal(badPort.code, 2, badPort.stderr);
    assert.match(badPort.stderr, /--port <n>.*Use a whole number from 1 to 65535/);
  });
});
