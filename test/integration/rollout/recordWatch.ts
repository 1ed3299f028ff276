// Records the watch events of a Deployment rolling from one image to the next on the testbed, trimmed to
// the fields the rollout model reads and with the random namespace renamed, as the golden replay fixture
// of test/unit/rollout. Run: node --import tsx test/integration/rollout/recordWatch.ts <out.json>
import * as fs from 'node:fs';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { ResourceWatch, type ListResult } from '../../../src/core/infra/kube/watch';
import type { WatchEvent, WatchedObject } from '../../../src/core/workloads/model';
import { canaryImage, createService, testbedKube } from '../../support/canaryWorkspace';
import { exampleImage } from '../../support/images';
import { eventually } from '../../support/wait';
import { createNamespace } from '../../support/testbed';

const kube = testbedKube();

function trim(
  o: WatchedObject & {
    spec?: { replicas?: number; template?: { spec?: { containers?: Array<{ name: string; image?: string }> } } };
  },
  ns: string,
): WatchedObject {
  const m = o.metadata ?? {};
  const annotations = Object.fromEntries(
    Object.entries(m.annotations ?? {}).filter(([k]) => k.endsWith('/revision') || k.startsWith('sandpiper.dev/')),
  );
  const status = (o.status ?? {}) as Record<string, unknown>;
  const conditions = ((status.conditions as Array<Record<string, unknown>>) ?? []).map((c) => ({
    type: c.type,
    status: c.status,
    reason: c.reason,
  }));
  return {
    metadata: {
      name: m.name,
      namespace: m.namespace === ns ? 'shop' : m.namespace,
      annotations,
      ownerReferences: (m.ownerReferences ?? []).map((r) => ({ kind: r.kind, name: r.name, controller: r.controller })),
    },
    spec: o.spec?.template
      ? {
          replicas: o.spec.replicas,
          template: {
            spec: { containers: o.spec.template.spec?.containers?.map((c) => ({ name: c.name, image: c.image })) },
          },
        }
      : undefined,
    status: !o.spec?.template
      ? undefined
      : {
          updatedReplicas: status.updatedReplicas,
          readyReplicas: status.readyReplicas,
          availableReplicas: status.availableReplicas,
          conditions,
        },
  } as WatchedObject;
}

async function main(out: string) {
  const ns = await createNamespace('record');
  const events: WatchEvent[] = [];
  const listed = (l: { items: unknown[]; metadata?: { resourceVersion?: string } }): ListResult => ({
    items: l.items as WatchedObject[],
    resourceVersion: l.metadata?.resourceVersion ?? '',
  });
  const onEvents = (e: WatchEvent[]) =>
    events.push(...e.map((x) => ({ ...x, object: trim(x.object as never, ns.name) })));
  const watches = [
    new ResourceWatch(kube.config, {
      kind: 'Deployment',
      path: `/apis/apps/v1/namespaces/${ns.name}/deployments`,
      list: async () => listed(await kube.apps.listNamespacedDeployment({ namespace: ns.name })),
      onEvents,
    }),
    new ResourceWatch(kube.config, {
      kind: 'ReplicaSet',
      path: `/apis/apps/v1/namespaces/${ns.name}/replicasets`,
      list: async () => listed(await kube.apps.listNamespacedReplicaSet({ namespace: ns.name })),
      onEvents,
    }),
    new ResourceWatch(kube.config, {
      kind: 'Pod',
      path: `/api/v1/namespaces/${ns.name}/pods`,
      list: async () => listed(await kube.core.listNamespacedPod({ namespace: ns.name })),
      onEvents,
    }),
  ];
  try {
    const [first, second] = await Promise.all([exampleImage(), canaryImage('good')]);
    for (const w of watches) await w.start();
    await createService(kube, ns.name, 'web', { replicas: 2, image: first });
    const done = async (image: string) => {
      const d = await kube.apps.readNamespacedDeployment({ namespace: ns.name, name: 'web' });
      return (
        d.spec?.template.spec?.containers[0].image === image &&
        d.status?.updatedReplicas === 2 &&
        d.status?.availableReplicas === 2 &&
        d.status?.replicas === 2
      );
    };
    await eventually('first rollout', () => done(first));
    await kube.apps.patchNamespacedDeployment(
      {
        namespace: ns.name,
        name: 'web',
        body: { spec: { template: { spec: { containers: [{ name: 'web', image: second }] } } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    await eventually('second rollout', () => done(second), 120_000);
    await new Promise((r) => setTimeout(r, 2000));
  } finally {
    for (const w of watches) w.stop();
    await ns.dispose();
  }
  fs.writeFileSync(out, JSON.stringify(events) + '\n');
  console.log(`${events.length} events → ${out}`);
}

void main(process.argv[2] ?? 'events.json').then(() => process.exit(0));
