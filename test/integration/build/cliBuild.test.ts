import { strict as assert } from 'node:assert';
import { CliProcess, assertBuilt } from '../cli/cliProcess';
import { requireRealNode } from '../../support/realPods';
import { eventually } from '../../support/wait';
import { adminKube, uniqueName } from '../env/baseline';
import { buildWorkspace, SERVE, testbedDocker } from './workspace';

const kube = adminKube();

describe('sandpiper env create builds with progress on stderr; Ctrl+C stops the build (testbed)', function () {
  this.timeout(180_000);
  before(() => {
    requireRealNode();
    assertBuilt();
  });

  it('Ctrl+C mid-build exits 130 at once, stops the engine build and makes no namespace', async () => {
    const marker = uniqueName('cli-sleep');
    const root = buildWorkspace('clislow', marker, `${SERVE}RUN echo ${marker} && sleep 60\n`);
    const name = uniqueName('sp-it-build-cli');
    const p = new CliProcess(['env', 'create', '--namespace', name, '--owner', 'b@example.com', '--branch', 'x'], {
      cwd: root,
    });
    await p.waitFor(new RegExp(`· ${marker}`), 120_000);
    assert.match(p.stderr, /· building .*\/sp-it-build\/clislow:sp-[0-9a-f]{12}/);
    const exit = await p.send('SIGINT');
    assert.equal(exit.code, 130, p.output);
    assert.ok(exit.ms < 5000, `took ${exit.ms} ms`);
    assert.match(p.stderr, /^sandpiper: cancelled$/m);
    await assert.rejects(kube.core.readNamespace({ name }), (e: { code?: number }) => e.code === 404);
    const docker = testbedDocker();
    await eventually(
      'the build container gone',
      async () => !(await docker.listContainers()).some((c) => c.Command.includes(marker)),
      20_000,
    );
  });
});
