import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { canaryName } from '../../../src/core/canary/state';
import { deployServices } from '../../../src/core/env/deploy';
import { sandpiper } from '../../support/cli';
import { requireRealNode } from '../../support/realPods';
import { createNamespace } from '../../support/testbed';
import { adminKube, uniqueName } from '../env/baseline';
import { buildWorkspace, workspaceConfig } from './workspace';

const kube = adminKube();

describe('sandpiper rollout start without --image builds the canary from the workspace (testbed, real node)', function () {
  this.timeout(300_000);
  let ns: { name: string; dispose(): Promise<void> };
  let root: string;
  let stable = '';

  before(async () => {
    requireRealNode();
    assert.ok(
      fs.existsSync(path.resolve(__dirname, '../../../dist/cli.js')),
      'build the CLI first (node scripts/build.mjs --dev)',
    );
    ns = await createNamespace('sp-it-build-canary');
    root = buildWorkspace('web', uniqueName('ctx'));
    const config = workspaceConfig(root);
    await deployServices(kube, config, [config.services.web], ns.name);
    stable = (await kube.apps.readNamespacedDeployment({ name: 'web', namespace: ns.name })).spec!.template.spec!
      .containers[0].image!;
  });
  after(async () => ns?.dispose());

  it('builds the changed workspace, pushes it and starts the canary with it pinned by digest', async () => {
    // New content in every run: a context the registry already holds (an earlier run's) is rightly not rebuilt.
    fs.writeFileSync(path.join(root, 'www/index.html'), `the canary ${uniqueName('canary')}\n`);
    const r = await sandpiper(
      ['rollout', 'start', 'web', '-n', ns.name, '--steps', '50,100', '--interval', '10m', '--detach', '--json'],
      root,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Building the canary image of web/);
    assert.match(r.stderr, /· Step 2\/3 : COPY www\/ \/www\//, 'the build ran (the content changed)');
    const image = /✓ canary of web started: (\S+),/.exec(r.stderr)?.[1] ?? '';
    assert.match(image, /\/sp-it-build\/web@sha256:[0-9a-f]{64}$/);
    assert.notEqual(image, stable);
    assert.equal((JSON.parse(r.stdout) as { image: string }).image, image);
    const canary = await kube.apps.readNamespacedDeployment({ name: canaryName('web'), namespace: ns.name });
    assert.equal(canary.spec?.template.spec?.containers[0].image, image);
  });

  it('a service without image.build needs --image, and says so', async () => {
    const r = await sandpiper(['rollout', 'start', 'web', '-n', ns.name, '--service', 'nope', '--detach'], root);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /no service "nope" to build the canary from/);
    assert.match(r.stderr, /Pass --image <ref>/);
  });
});
