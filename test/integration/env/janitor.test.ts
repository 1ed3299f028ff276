import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { AuthorizationV1Api, type KubeConfig, PatchStrategy } from '@kubernetes/client-node';
import { Kube } from '../../../src/core/infra/kube/client';
import { kubeError } from '../../../src/core/infra/kube/errors';
import { eventually } from '../../support/wait';
import { recordActivity } from '../../../src/core/env/lifecycle';
import type { KubeObject } from '../../../src/core/env/plan';
import { runJanitor } from '../../../src/core/env/lifecycle';
import { testbedEnv } from '../../support/testbed';
import { createRealPod } from '../logs/talker';
import { adminKube, bindRules, deleteNamespace, serviceAccountKubeConfig, uniqueName } from './baseline';

const kube = adminKube();
const MANIFEST = path.resolve(__dirname, '../../../resources/janitor-cronjob.yaml');
const manifest = () => parseAllDocuments(fs.readFileSync(MANIFEST, 'utf8')).map((d) => d.toJS() as KubeObject);
const BIN = path.resolve(__dirname, '../../../bin/sandpiper.js');
const HOUR = 3_600_000;
const rbac = (plural: string) => ({ group: 'rbac.authorization.k8s.io', version: 'v1', plural });

/**
 * A ServiceAccount `name` in `namespace`, bound cluster-wide to a ClusterRole `name` with these rules, and a
 * KubeConfig that acts as it: a token from the TokenRequest API, so the apiserver authenticates it as itself.
 */
async function serviceAccountConfig(namespace: string, name: string, rules: unknown[]): Promise<KubeConfig> {
  await kube.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  await bindRules(kube, namespace, name, rules, { clusterWide: true });
  return serviceAccountKubeConfig(kube, namespace, name, 600);
}

/** Removes the ClusterRole and binding serviceAccountConfig made (best effort; the ServiceAccount goes with its namespace). */
async function deleteClusterRole(name: string): Promise<void> {
  await kube.custom.deleteClusterCustomObject({ ...rbac('clusterrolebindings'), name }).catch(() => undefined);
  await kube.custom.deleteClusterCustomObject({ ...rbac('clusterroles'), name }).catch(() => undefined);
}

interface Case {
  name: string;
  owned: boolean;
  expired: boolean;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** A random mix: owned or foreign (or look-alike labels), expired or not, readable annotations or tampered ones. */
function randomCases(run: string, count: number): Case[] {
  return Array.from({ length: count }, (_, i) => {
    // Every kind appears; which ones are expired is random (the first two owned ones always are).
    const labelKind = ['owned', 'foreign', 'lookalike', 'owned'][i % 4];
    const expired = i < 2 || i === 4 || Math.random() < 0.5;
    const tampered = i % 8 === 3;
    const labels: Record<string, string> = { 'sandpiper.dev/janitor-test': run };
    if (labelKind === 'owned') labels['app.kubernetes.io/managed-by'] = 'sandpiper';
    if (labelKind === 'lookalike') labels['app.kubernetes.io/managed-by'] = 'sandpiper-not';
    const last = new Date(Date.now() - (expired ? 3 * HOUR : 10 * 60_000)).toISOString();
    const annotations = { 'sandpiper.dev/ttl': tampered ? 'soon' : '1h', 'sandpiper.dev/last-activity': last };
    return { name: `sp-it-jan-${run}-${i}`, owned: labelKind === 'owned' && !tampered, expired, labels, annotations };
  });
}

describe('janitor on the testbed', function () {
  this.timeout(120_000);
  const run = Math.random().toString(36).slice(2, 7);
  const cases = randomCases(run, 12);

  // A running pod on the real node in an expired environment and in a foreign namespace: the janitor deletes the
  // one with its pod and leaves the other's pod running.
  // (cases[0] is revived below; cases[4] is owned and expired, cases[1] foreign.)
  const withPods = () => [cases[4], cases[1]];

  before(async () => {
    await Promise.all(
      cases.map((c) =>
        kube.core.createNamespace({
          body: { metadata: { name: c.name, labels: c.labels, annotations: c.annotations } },
        }),
      ),
    );
    await Promise.all(withPods().map((c) => createRealPod(c.name, 'app')));
  });
  after(async () => {
    await Promise.all(cases.map((c) => deleteNamespace(kube, c.name)));
  });

  const mine = (names: string[]) => names.filter((n) => n.startsWith(`sp-it-jan-${run}-`)).sort();
  const expected = () =>
    cases
      .filter((c) => c.owned && c.expired)
      .map((c) => c.name)
      .sort();

  it('--dry-run lists what it would delete and deletes nothing', async () => {
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        [BIN, 'janitor', '--dry-run', '--json'],
        { env: testbedEnv() },
        (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout)),
      ),
    );
    const result = JSON.parse(out) as {
      dryRun: boolean;
      decisions: Array<{ name: string; action: string }>;
      deleted: string[];
    };
    assert.equal(result.dryRun, true);
    assert.deepEqual(mine(result.decisions.filter((d) => d.action === 'delete').map((d) => d.name)), expected());
    assert.deepEqual(result.deleted, []);
    for (const c of cases) assert.ok((await kube.core.readNamespace({ name: c.name })).metadata);
  });

  it('does not delete one whose activity was recorded since it expired', async () => {
    const revived = cases.find((c) => c.owned && c.expired);
    assert.ok(revived);
    await recordActivity(kube, revived.name, 'test');
    revived.expired = false;
  });

  it('deletes exactly the owned and expired namespaces, never the foreign or tampered ones', async () => {
    const result = await runJanitor(kube);
    assert.deepEqual(result.errors, []);
    assert.deepEqual(mine(result.deleted), expected());
    for (const c of cases) {
      const ns = await kube.core.readNamespace({ name: c.name }).catch(() => undefined);
      const gone = !ns || ns.status?.phase === 'Terminating';
      assert.equal(gone, c.owned && c.expired, `${c.name} ${JSON.stringify(c)}`);
    }
    const [deleted, foreign] = withPods();
    assert.equal(
      (await kube.core.readNamespacedPod({ namespace: foreign.name, name: 'app' })).status?.phase,
      'Running',
    );
    await eventually(
      `${deleted.name} and its running pod gone`,
      () =>
        kube.core.readNamespace({ name: deleted.name }).then(
          () => false,
          (e: { code?: number }) => e.code === 404,
        ),
      90_000,
      500,
    );
  });

  it('refuses to record activity on a foreign namespace', async () => {
    const foreign = cases.find((c) => !c.labels['app.kubernetes.io/managed-by'])!;
    await assert.rejects(recordActivity(kube, foreign.name, 'test'), /not a Sandpiper environment/);
  });

  it('ships a CronJob whose RBAC the cluster accepts and which is enough and no more', async () => {
    const file = path.resolve(__dirname, '../../../resources/janitor-cronjob.yaml');
    const docs = parseAllDocuments(fs.readFileSync(file, 'utf8')).map((d) => d.toJS() as KubeObject);
    const role = docs.find((d) => d.kind === 'ClusterRole') as unknown as {
      rules: Array<{ resources: string[]; verbs: string[] }>;
    };
    assert.deepEqual(role.rules, [{ apiGroups: [''], resources: ['namespaces'], verbs: ['list', 'get', 'delete'] }]);
    const ns = uniqueName('sp-it-janitor-rbac');
    await kube.core.createNamespace({ body: { metadata: { name: ns } } });
    const name = uniqueName('janitor');
    try {
      // Server-side dry run of every object (the namespaced ones into a real namespace, as a dry-run
      // Namespace is not created): the apiserver validates the manifests for real.
      for (const doc of docs) {
        const target = doc.metadata?.namespace ? { ...doc, metadata: { ...doc.metadata, namespace: ns } } : doc;
        await kube.objects.patch(target, undefined, 'All', 'sandpiper-test', true, PatchStrategy.ServerSideApply);
      }
      // The role is enough: a ServiceAccount bound to exactly these rules can run the janitor (dry run).
      const janitorKube = new Kube(await serviceAccountConfig(ns, name, role.rules));
      const result = await runJanitor(janitorKube, { dryRun: true });
      assert.ok(
        result.decisions.some((d) => d.name.startsWith(`sp-it-jan-${run}-`)),
        'the janitor account sees the managed namespaces',
      );
      // ...and no more: it cannot patch or create namespaces, nor read pods.
      await assert.rejects(
        janitorKube.core.createNamespace({ body: { metadata: { name: uniqueName('nope') } } }),
        (e: { code?: number }) => e.code === 403,
      );
      await assert.rejects(
        janitorKube.core.listNamespacedPod({ namespace: ns }),
        (e: { code?: number }) => e.code === 403,
      );
    } finally {
      await deleteClusterRole(name);
      await deleteNamespace(kube, ns);
    }
  });
  it('references its image by digest, never by a movable tag', () => {
    const cron = manifest().find((d) => d.kind === 'CronJob') as unknown as {
      spec: { jobTemplate: { spec: { template: { spec: { containers: Array<{ image: string }> } } } } };
    };
    const image = cron.spec.jobTemplate.spec.template.spec.containers[0].image;
    assert.match(
      image,
      /^sandpiper\/janitor@sha256:JANITOR_DIGEST$/,
      'a digest placeholder the install fills (see the manifest header)',
    );
    assert.match(fs.readFileSync(MANIFEST, 'utf8'), /sed "s#sandpiper\/janitor@sha256:JANITOR_DIGEST#\$IMAGE#"/);
  });

  it('ships an admission policy: its ServiceAccount may delete Sandpiper namespaces only, whatever RBAC allows', async () => {
    const docs = manifest();
    const policy = docs.find((d) => d.kind === 'ValidatingAdmissionPolicy') as KubeObject & {
      spec: { matchConditions: Array<{ expression: string }> };
    };
    const binding = docs.find((d) => d.kind === 'ValidatingAdmissionPolicyBinding') as KubeObject & {
      spec: { policyName: string };
    };
    const role = docs.find((d) => d.kind === 'ClusterRole') as unknown as {
      rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>;
    };
    const home = uniqueName('sp-it-janitor-vap');
    const name = uniqueName('janitor-vap');
    // The shipped policy and binding, for a ServiceAccount of this test rather than sandpiper-system's (the testbed is shared).
    const shipped = "'system:serviceaccount:sandpiper-system:sandpiper-janitor'";
    assert.ok(policy.spec.matchConditions[0].expression.includes(shipped));
    const testPolicy = {
      ...policy,
      metadata: { name },
      spec: {
        ...policy.spec,
        matchConditions: [
          {
            ...policy.spec.matchConditions[0],
            expression: policy.spec.matchConditions[0].expression.replace(
              shipped,
              `'system:serviceaccount:${home}:${name}'`,
            ),
          },
        ],
      },
    };
    const testBinding = { ...binding, metadata: { name }, spec: { ...binding.spec, policyName: name } };
    const admission = (plural: string) => ({ group: 'admissionregistration.k8s.io', version: 'v1', plural });
    const foreign = uniqueName('sp-it-jan-foreign');
    /** A namespace labelled as Sandpiper's, with this owner annotation. */
    const createManaged = (name: string, owner: string) =>
      kube.core.createNamespace({
        body: {
          metadata: {
            name,
            labels: { 'app.kubernetes.io/managed-by': 'sandpiper' },
            annotations: { 'sandpiper.dev/owner-full': owner },
          },
        },
      });
    const lookalike = uniqueName('sp-it-jan-noowner');
    const owned = uniqueName('sp-it-jan-owned');
    try {
      await kube.core.createNamespace({ body: { metadata: { name: home } } });
      await kube.core.createNamespace({ body: { metadata: { name: foreign, labels: { team: 'payments' } } } });
      await createManaged(lookalike, ' ');
      await createManaged(owned, 'ada@example.com');
      await kube.custom.createClusterCustomObject({ ...admission('validatingadmissionpolicies'), body: testPolicy });
      await kube.custom.createClusterCustomObject({
        ...admission('validatingadmissionpolicybindings'),
        body: testBinding,
      });
      const kc = await serviceAccountConfig(home, name, role.rules);
      const janitor = new Kube(kc);
      const refusal = (ns: string) =>
        janitor.core.deleteNamespace({ name: ns }).then(
          () => 'deleted',
          (e: unknown) => kubeError(e, `delete ${ns}`).message,
        );

      // RBAC alone would let it delete the foreign namespace...
      const review = await kc.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
        body: { spec: { resourceAttributes: { verb: 'delete', resource: 'namespaces', name: foreign } } },
      });
      assert.equal(review.status?.allowed, true, 'RBAC allows the delete');
      // ...the policy refuses it (a dry run shows when the apiserver has loaded the policy, without deleting anything).
      await eventually(
        'the policy in force',
        async () => {
          const dry = await janitor.core.deleteNamespace({ name: foreign, dryRun: 'All' }).then(
            () => 'allowed',
            (e: unknown) => kubeError(e, 'dry run').message,
          );
          return /denied request/.test(dry) ? dry : false;
        },
        30_000,
      );
      assert.match(
        await refusal(foreign),
        new RegExp(
          `^Forbidden while trying to delete ${foreign}: .*ValidatingAdmissionPolicy '${name}'.* denied request: the Sandpiper janitor may delete only namespaces labelled app.kubernetes.io/managed-by=sandpiper`,
        ),
      );
      assert.match(
        await refusal(lookalike),
        /denied request: the Sandpiper janitor may delete only namespaces with a sandpiper.dev\/owner-full annotation/,
      );
      assert.equal(await refusal(owned), 'deleted');
      assert.equal((await kube.core.readNamespace({ name: foreign })).status?.phase, 'Active');
      assert.equal((await kube.core.readNamespace({ name: lookalike })).status?.phase, 'Active');
      const gone = await kube.core.readNamespace({ name: owned }).then(
        (n) => n.status?.phase,
        () => 'gone',
      );
      assert.ok(gone === 'Terminating' || gone === 'gone', gone);
      // The admin is not matched by the policy: only the janitor's account is fenced in.
      await kube.core.deleteNamespace({ name: foreign, dryRun: 'All' });
    } finally {
      await kube.custom
        .deleteClusterCustomObject({ ...admission('validatingadmissionpolicybindings'), name })
        .catch(() => undefined);
      await kube.custom
        .deleteClusterCustomObject({ ...admission('validatingadmissionpolicies'), name })
        .catch(() => undefined);
      await deleteClusterRole(name);
      for (const ns of [home, foreign, lookalike, owned]) await deleteNamespace(kube, ns);
    }
  });
});
