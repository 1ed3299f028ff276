#!/usr/bin/env node
// Prometheus pod discovery for the testbed: Debian's Prometheus 2.42 has no kubernetes_sd, so this daemon (started by
// `up`, stopped by `down`) watches pods and keeps a file_sd file with every Running pod of the real node annotated
// `prometheus.io/scrape: "true"`: target <podIP>:<prometheus.io/port>, labels namespace, pod, service (= pod label
// `app`), track (= pod label `sandpiper.dev/track`, else `stable`) and __metrics_path__ (prometheus.io/path, default
// /metrics). Only real-node pod IPs (the bridge's subnet) qualify: a KWOK pod's fake IP would be routed off the machine.
//   node scripts/testbed/pod-targets.mjs --kubeconfig <file> --out <targets dir>/pods.json
import fs from 'node:fs';
import { CoreV1Api, KubeConfig, makeInformer } from '@kubernetes/client-node';
import { NODE_NAME, POD_CIDR } from './realnode/config.mjs';

const SUBNET_PREFIX = POD_CIDR.split('.').slice(0, 3).join('.') + '.';

/** The file_sd target groups for these pods (sorted, so an unchanged set writes the same bytes). */
function targetGroups(pods) {
  const groups = [];
  for (const p of pods) {
    const a = p.metadata?.annotations ?? {};
    const port = Number(a['prometheus.io/port']);
    const ip = p.status?.podIP;
    if (a['prometheus.io/scrape'] !== 'true' || p.status?.phase !== 'Running' || p.metadata?.deletionTimestamp)
      continue;
    if (!ip?.startsWith(SUBNET_PREFIX) || p.spec?.nodeName !== NODE_NAME || !Number.isInteger(port) || port <= 0)
      continue;
    const labels = p.metadata.labels ?? {};
    groups.push({
      targets: [`${ip}:${port}`],
      labels: {
        namespace: p.metadata.namespace,
        pod: p.metadata.name,
        ...(labels.app ? { service: labels.app } : {}),
        track: labels['sandpiper.dev/track'] || 'stable',
        __metrics_path__: a['prometheus.io/path'] || '/metrics',
      },
    });
  }
  return groups.sort((x, y) =>
    `${x.labels.namespace}/${x.labels.pod}`.localeCompare(`${y.labels.namespace}/${y.labels.pod}`),
  );
}

function arg(name) {
  const i = process.argv.indexOf(name);
  if (i < 0 || !process.argv[i + 1]) throw new Error(`usage: pod-targets.mjs --kubeconfig <file> --out <file>`);
  return process.argv[i + 1];
}

function say(msg) {
  console.log(`${new Date().toISOString()} ${msg}`);
}

async function main() {
  const out = arg('--out');
  const kc = new KubeConfig();
  kc.loadFromFile(arg('--kubeconfig'));
  const core = kc.makeApiClient(CoreV1Api);
  const informer = makeInformer(kc, '/api/v1/pods', () => core.listPodForAllNamespaces());
  let last = null;
  const write = () => {
    const text = JSON.stringify(targetGroups(informer.list()), null, 1) + '\n';
    if (text === last) return;
    // Prometheus re-reads the file every second: it must never see half of it.
    fs.writeFileSync(out + '.tmp', text);
    fs.renameSync(out + '.tmp', out);
    last = text;
    say(`wrote ${out}: ${JSON.parse(text).length} target(s)`);
  };
  for (const verb of ['add', 'update', 'delete']) informer.on(verb, write);
  informer.on('connect', write);
  // The API server may restart under us (a kwok cluster restart): keep trying, once a second.
  const restart = () =>
    setTimeout(
      () =>
        informer.start().then(write, (e) => {
          say(`restart failed: ${e.message}`);
          restart();
        }),
      1000,
    );
  informer.on('error', (err) => {
    say(`watch error: ${err?.message ?? err}; restarting in 1s`);
    restart();
  });
  await informer.start();
  write();
  say('watching pods');
  const stop = () => informer.stop().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => {
  console.error(`pod-targets failed: ${e.stack || e.message}`);
  process.exit(1);
});
