// What the testbed gives pods on the real node besides the node itself: the locally made base images (pulled from
// the testbed registry through containerd's docker.io redirect) and Prometheus pod discovery (pod-targets.mjs writes
// file_sd for pods annotated prometheus.io/scrape, since Debian's Prometheus 2.42 has no kubernetes_sd).
import { strict as assert } from 'node:assert';
import type { V1Pod } from '@kubernetes/client-node';
import { requireRealNode } from '../../support/realPods';
import { coreApi, createNamespace, loadTestbed } from '../../support/testbed';
import { eventually } from '../../support/wait';

interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

async function promQuery(query: string): Promise<PromSample[]> {
  const url = `${loadTestbed().prometheusUrl}/api/v1/query?query=${encodeURIComponent(query)}`;
  const body = (await (await fetch(url)).json()) as { status: string; data: { result: PromSample[] } };
  assert.equal(body.status, 'success', JSON.stringify(body));
  return body.data.result;
}

async function activeTargets(namespace: string): Promise<Array<{ labels: Record<string, string>; scrapeUrl: string }>> {
  const res = await fetch(`${loadTestbed().prometheusUrl}/api/v1/targets?state=active`);
  const body = (await res.json()) as {
    data: { activeTargets: Array<{ labels: Record<string, string>; scrapeUrl: string }> };
  };
  return body.data.activeTargets.filter((t) => t.labels.namespace === namespace);
}

/** A busybox httpd serving a static metrics file at /stats/metrics (not Prometheus' default path). */
function exporterPod(name: string, labels: Record<string, string>): V1Pod {
  const serve =
    "mkdir -p /www/stats && printf 'sp_testbed_exporter_ok 1\\n' > /www/stats/metrics; " +
    "trap 'exit 0' TERM; httpd -f -p 9100 -h /www & wait";
  return {
    metadata: {
      name,
      labels: { app: 'exporter', ...labels },
      annotations: {
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': '9100',
        'prometheus.io/path': '/stats/metrics',
      },
    },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'exporter', image: 'sandpiper/busybox:latest', command: ['sh', '-c', serve] }],
    },
  };
}

describe('testbed: base images and Prometheus pod discovery on the real node', function () {
  this.timeout(120_000);
  let ns: { name: string; dispose(): Promise<void> };

  before(async () => {
    requireRealNode();
    ns = await createNamespace('realnode-base');
  });
  after(async () => ns?.dispose());

  /** Runs `command` to completion in a pod of `image` (pulled Always) and returns its log. */
  async function runToCompletion(name: string, image: string, command: string[]): Promise<string> {
    const core = coreApi();
    await core.createNamespacedPod({
      namespace: ns.name,
      body: {
        metadata: { name },
        spec: {
          restartPolicy: 'Never',
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'main', image, imagePullPolicy: 'Always', command }],
        },
      },
    });
    const phase = await eventually(
      `pod ${name} (${image}) to finish`,
      async () => {
        const p = await core.readNamespacedPod({ name, namespace: ns.name });
        const ph = p.status?.phase;
        return ph === 'Succeeded' || ph === 'Failed' ? ph : false;
      },
      90_000,
      250,
    );
    const log = await core.readNamespacedPodLog({ name, namespace: ns.name, container: 'main' });
    assert.equal(phase, 'Succeeded', `pod ${name} ${phase}: ${log}`);
    return log.trim();
  }

  it('runs node:20-slim (the local stand-in) and sandpiper/python:3.11 with debugpy', async () => {
    const tb = loadTestbed();
    assert.ok(tb.images.includes('node:20-slim') && tb.images.includes('sandpiper/python:3.11'), String(tb.images));
    const [node, python] = await Promise.all([
      runToCompletion('node-slim', 'node:20-slim', ['node', '-e', 'console.log("node " + process.versions.node)']),
      runToCompletion('python', 'sandpiper/python:3.11', [
        'python3',
        '-c',
        'import sys, debugpy, ssl, ctypes; print("python", sys.version.split()[0], "debugpy", debugpy.__version__)',
      ]),
    ]);
    assert.match(node, /^node 20\./);
    assert.match(python, /^python 3\.11\.\d+ debugpy \d+\.\d+\.\d+$/);
  });

  it('scrapes annotated pods by their IP with namespace/pod/service/track labels and drops deleted ones', async () => {
    const core = coreApi();
    await core.createNamespacedPod({ namespace: ns.name, body: exporterPod('stable-0', {}) });
    await core.createNamespacedPod({
      namespace: ns.name,
      body: exporterPod('canary-0', { 'sandpiper.dev/track': 'canary' }),
    });
    const sel = `namespace="${ns.name}"`;
    const up = await eventually(
      'both exporter pods up in Prometheus',
      async () => {
        const r = await promQuery(`up{${sel}}`);
        return r.length === 2 && r.every((s) => s.value[1] === '1') ? r : false;
      },
      60_000,
      250,
    );
    const byPod = Object.fromEntries(up.map((s) => [s.metric.pod, s.metric]));
    assert.equal(byPod['stable-0']?.track, 'stable');
    assert.equal(byPod['canary-0']?.track, 'canary');
    assert.equal(byPod['stable-0']?.service, 'exporter');
    const pod = await core.readNamespacedPod({ name: 'stable-0', namespace: ns.name });
    assert.equal(byPod['stable-0']?.instance, `${pod.status?.podIP}:9100`);
    // The pod's own metric, from the annotated path.
    const own = await eventually(
      'the exporter metric',
      async () => ((await promQuery(`sp_testbed_exporter_ok{${sel},track="stable"}`)).length === 1 ? true : false),
      30_000,
      250,
    );
    assert.ok(own);
    const targets = await activeTargets(ns.name);
    assert.ok(
      targets.every((t) => t.scrapeUrl.endsWith(':9100/stats/metrics')),
      targets.map((t) => t.scrapeUrl).join(' '),
    );

    await core.deleteNamespacedPod({ name: 'stable-0', namespace: ns.name, gracePeriodSeconds: 1 });
    await eventually(
      'the deleted pod gone from the targets',
      async () => {
        const left = await activeTargets(ns.name);
        return left.length === 1 && left[0]!.labels.pod === 'canary-0';
      },
      30_000,
      250,
    );
  });
});
