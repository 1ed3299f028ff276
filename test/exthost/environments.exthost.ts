import { strict as assert } from 'node:assert';
import * as vscode from 'vscode';
import { applyObject } from '../../src/core/env/deploy';
import { deleteEnvironment } from '../../src/core/env/lifecycle';
import type { EnvironmentInfo } from '../../src/core/env/metadata';
import { environmentName } from '../../src/core/env/naming';
import { namespaceObject } from '../../src/core/env/plan';
import { loadKube } from '../../src/core/infra/kube/client';
import { sleep } from '../../src/core/errors';

describe('environments (extension host)', function () {
  this.timeout(120_000);
  const branch = `exthost-${Math.random().toString(36).slice(2, 7)}`;
  const name = environmentName('exthost@example.com', branch);
  const haveCluster = Boolean(process.env.KUBECONFIG);

  before(async () => {
    await vscode.extensions.getExtension('sandpiper.sandpiper')?.activate();
    if (!haveCluster) return;
    await applyObject(
      loadKube(),
      namespaceObject({
        namespace: name,
        owner: 'exthost@example.com',
        branch,
        service: 'tasks',
        baseline: 'staging',
        clusterDomain: 'cluster.local',
        ttlMs: 3_600_000,
        now: new Date(Date.now() - 10 * 60_000),
        modes: { search: 'shared', mongo: 'copy' },
      }),
    );
  });
  after(async () => {
    if (haveCluster) await deleteEnvironment(loadKube(), name).catch(() => undefined);
  });

  it('refresh lists the Sandpiper environments of the current context', async () => {
    const envs = (await vscode.commands.executeCommand('sandpiper.env.refresh')) as EnvironmentInfo[] | undefined;
    assert.ok(Array.isArray(envs), 'refresh returns the environments it shows');
    if (!haveCluster) return;
    const env = envs.find((e) => e.name === name);
    assert.ok(env, `${name} missing from ${envs.map((e) => e.name).join(', ')}`);
    assert.equal(env.owner, 'exthost@example.com');
    assert.deepEqual(env.dependencies, { search: 'shared', mongo: 'copy' });
  });

  it('select makes it the active environment and records the activity on the cluster', async () => {
    if (!haveCluster) return;
    const selected = await vscode.commands.executeCommand('sandpiper.env.select', name);
    assert.equal(selected, name);
    const kube = loadKube();
    for (let i = 0; i < 50; i++) {
      const ns = await kube.core.readNamespace({ name });
      const last = Date.parse(ns.metadata?.annotations?.['sandpiper.dev/last-activity'] ?? '');
      if (ns.metadata?.annotations?.['sandpiper.dev/last-activity-reason'] === 'select' && Date.now() - last < 60_000)
        return;
      await sleep(100);
    }
    assert.fail('the select was not recorded as activity on the namespace');
  });
});
