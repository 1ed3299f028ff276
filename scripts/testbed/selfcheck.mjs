#!/usr/bin/env node
// Proves the running test bed works end to end. Exits non-zero on the first failure.
// Usage: node scripts/testbed/selfcheck.mjs   (after npm run testbed:up)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { TESTBED_JSON, freePort, readJson, sh, sleep, waitFor } from './lib.mjs';

const tb = readJson(TESTBED_JSON);
if (!tb) {
  console.error(`no ${TESTBED_JSON}: run npm run testbed:up`);
  process.exit(1);
}
const env = {
  ...process.env,
  PATH: `${tb.binDir}:${process.env.PATH}`,
  KUBECONFIG: tb.kubeconfig,
  DOCKER_HOST: tb.dockerHost,
  DOCKER_BUILDKIT: '0',
};
const kubectl = (args, opts = {}) => sh(path.join(tb.binDir, 'kubectl'), args, { env, ...opts });
const docker = (args, opts = {}) =>
  sh('docker', args, { env: { ...env, DOCKER_CONFIG: path.join(tmp(), 'docker-config') }, ...opts });
const rand = Math.random().toString(36).slice(2, 7);
const ns = `selfcheck-${rand}`;
let tmpDir;
function tmp() {
  return (tmpDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'sandpiper-selfcheck-')));
}
const cleanups = [];
const results = [];

async function check(name, fn) {
  const t0 = Date.now();
  try {
    const note = await fn();
    results.push([true, name]);
    console.log(`ok   ${name} (${((Date.now() - t0) / 1000).toFixed(1)}s)${note ? ' — ' + note : ''}`);
  } catch (e) {
    results.push([false, name]);
    console.log(`FAIL ${name} (${((Date.now() - t0) / 1000).toFixed(1)}s): ${e.message}`);
    throw e;
  }
}

function apply(obj) {
  kubectl(['apply', '-f', '-'], { input: JSON.stringify(obj) });
}

const kwok = (kind, name, spec) => ({
  apiVersion: 'kwok.x-k8s.io/v1alpha1',
  kind,
  metadata: { name, namespace: ns },
  spec,
});

async function main() {
  let podName;
  await check('kubectl get nodes: kwok nodes Ready', async () => {
    const items = JSON.parse(kubectl(['get', 'nodes', '-o', 'json']).stdout).items;
    const ready = items
      .filter((n) => n.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      .map((n) => n.metadata.name);
    if (!ready.length) throw new Error('no Ready node');
    const v = kubectl(['version', '-o', 'json']).stdout;
    return `${ready.join(', ')}; server ${JSON.parse(v).serverVersion.gitVersion}`;
  });

  await check('Deployment pod becomes Running', async () => {
    kubectl(['create', 'namespace', ns]);
    cleanups.push(() => kubectl(['delete', 'namespace', ns, '--wait=false'], { check: false }));
    apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: ns },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          // The KWOK tier (exec/logs/port-forward objects) is what this proves: pinned to the fake nodes, which are
          // tainted when the real node runs (realnode-check.mjs proves the real node).
          spec: {
            nodeSelector: { type: 'kwok' },
            tolerations: [{ key: 'kwok.x-k8s.io/node', operator: 'Exists', effect: 'NoSchedule' }],
            containers: [{ name: 'web', image: 'sandpiper/busybox:latest', ports: [{ containerPort: 8080 }] }],
          },
        },
      },
    });
    podName = await waitFor(
      'a Running pod',
      () => {
        const pods = JSON.parse(kubectl(['get', 'pods', '-n', ns, '-l', 'app=web', '-o', 'json']).stdout).items;
        const p = pods.find((x) => x.status.phase === 'Running');
        return p?.metadata.name;
      },
      60000,
      300,
    );
    return podName;
  });

  await check('kubectl exec via kwok Exec runs on the host in the work dir', async () => {
    const dir = path.join(tmp(), 'exec');
    fs.mkdirSync(dir, { recursive: true });
    apply(kwok('Exec', podName, { execs: [{ local: { workDir: dir } }] }));
    const out = await waitFor(
      'exec output',
      () => {
        const r = kubectl(['exec', '-n', ns, podName, '--', 'sh', '-c', 'echo hi > x; cat x'], {
          check: false,
          timeout: 15000,
        });
        return r.status === 0 && r.stdout.trim() === 'hi' ? r.stdout.trim() : false;
      },
      30000,
      500,
    );
    if (fs.readFileSync(path.join(dir, 'x'), 'utf8').trim() !== 'hi')
      throw new Error('file x not written in the work dir');
    return `stdout "${out}", ${dir}/x written`;
  });

  await check('kubectl logs via kwok Logs file', async () => {
    const file = path.join(tmp(), 'web.log');
    const ts = new Date().toISOString();
    fs.writeFileSync(file, `${ts} stdout F hello from selfcheck ${rand}\n${ts} stderr F second line\n`);
    apply(kwok('Logs', podName, { logs: [{ containers: ['web'], logsFile: file, follow: true }] }));
    await waitFor(
      'logs',
      () => {
        const r = kubectl(['logs', '-n', ns, podName, '-c', 'web'], { check: false, timeout: 10000 });
        return r.status === 0 && r.stdout.includes(`hello from selfcheck ${rand}`);
      },
      30000,
      500,
    );
    // follow: a line appended later arrives on a running `kubectl logs -f`
    const child = spawn(path.join(tb.binDir, 'kubectl'), ['logs', '-f', '-n', ns, podName, '-c', 'web'], { env });
    let buf = '';
    child.stdout.on('data', (d) => (buf += d));
    try {
      await sleep(1000);
      fs.appendFileSync(file, `${new Date().toISOString()} stdout F followed ${rand}\n`);
      await waitFor('followed line', () => buf.includes(`followed ${rand}`), 15000, 200);
    } finally {
      child.kill('SIGTERM');
    }
    return 'static + follow';
  });

  await check('kubectl port-forward via kwok PortForward reaches a local HTTP server', async () => {
    const server = http.createServer((req, res) => res.end(`pong ${rand}`));
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const target = server.address().port;
    apply(
      kwok('PortForward', podName, { forwards: [{ ports: [8080], target: { address: '127.0.0.1', port: target } }] }),
    );
    const local = await freePort();
    const child = spawn(
      path.join(tb.binDir, 'kubectl'),
      ['port-forward', '-n', ns, `pod/${podName}`, `${local}:8080`],
      { env, stdio: 'ignore' },
    );
    try {
      const body = await waitFor(
        'forwarded response',
        async () => {
          const r = await fetch(`http://127.0.0.1:${local}/`, { signal: AbortSignal.timeout(2000) });
          const t = await r.text();
          return t === `pong ${rand}` ? t : false;
        },
        30000,
        500,
      );
      return `127.0.0.1:${local} -> pod:8080 -> 127.0.0.1:${target}: "${body}"`;
    } finally {
      child.kill('SIGTERM');
      server.close();
    }
  });

  await check('docker build FROM sandpiper/busybox + push to the registry', async () => {
    const ctx = path.join(tmp(), 'ctx');
    fs.mkdirSync(ctx, { recursive: true });
    fs.writeFileSync(path.join(ctx, 'hello.txt'), `hello ${rand}\n`);
    fs.writeFileSync(
      path.join(ctx, 'Dockerfile'),
      'FROM sandpiper/busybox:latest\nCOPY hello.txt /hello.txt\nRUN cat /hello.txt > /copy.txt\nCMD ["cat", "/copy.txt"]\n',
    );
    const ref = `${tb.registry}/selfcheck/hello:${rand}`;
    docker(['build', '-q', '-t', ref, ctx]);
    const run = docker(['run', '--rm', ref]).stdout.trim();
    if (run !== `hello ${rand}`) throw new Error(`docker run printed ${JSON.stringify(run)}`);
    docker(['push', ref]);
    const cat = await (await fetch(`http://${tb.registry}/v2/_catalog`)).json();
    if (!cat.repositories.includes('selfcheck/hello')) throw new Error(`catalog: ${JSON.stringify(cat)}`);
    const tags = await (await fetch(`http://${tb.registry}/v2/selfcheck/hello/tags/list`)).json();
    if (!tags.tags.includes(rand)) throw new Error(`tags: ${JSON.stringify(tags)}`);
    docker(['rmi', ref], { check: false });
    return `${ref} built, run, pushed, listed`;
  });

  await check('Prometheus ready and scrapes a target added via the targets dir', async () => {
    const ready = await fetch(`${tb.prometheusUrl}/-/ready`);
    if (!ready.ok) throw new Error(`/-/ready: ${ready.status}`);
    const server = http.createServer((req, res) => {
      res.setHeader('content-type', 'text/plain; version=0.0.4');
      res.end(`# TYPE selfcheck_value gauge\nselfcheck_value{run="${rand}"} 42\n`);
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const file = path.join(tb.prometheusTargetsDir, `selfcheck-${rand}.json`);
    fs.writeFileSync(
      file,
      JSON.stringify([{ targets: [`127.0.0.1:${server.address().port}`], labels: { job: `selfcheck-${rand}` } }]),
    );
    try {
      const v = await waitFor(
        'scraped sample',
        async () => {
          const q = encodeURIComponent(`selfcheck_value{run="${rand}"}`);
          const r = await (await fetch(`${tb.prometheusUrl}/api/v1/query?query=${q}`)).json();
          return r.data?.result?.[0]?.value?.[1];
        },
        30000,
        500,
      );
      return `selfcheck_value = ${v}`;
    } finally {
      fs.rmSync(file, { force: true });
      server.close();
    }
  });

  if (tb.argoRollouts?.enabled) {
    await check('Argo Rollouts controller reconciles a canary Rollout', async () => {
      apply({
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Rollout',
        metadata: { name: 'canary', namespace: ns },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'canary' } },
          template: {
            metadata: { labels: { app: 'canary' } },
            // Real containers on the real node: a shell that stays up and ends at once on TERM.
            spec: {
              terminationGracePeriodSeconds: 1,
              containers: [
                {
                  name: 'app',
                  image: 'sandpiper/busybox:latest',
                  command: ['sh', '-c', "trap 'exit 0' TERM; while true; do sleep 1; done"],
                },
              ],
            },
          },
          strategy: { canary: { steps: [{ setWeight: 50 }, { pause: {} }] } },
        },
      });
      const st = await waitFor(
        'rollout status',
        () => {
          const r = JSON.parse(kubectl(['get', 'rollout', '-n', ns, 'canary', '-o', 'json']).stdout);
          return r.status?.phase && r.status?.availableReplicas >= 2 ? r.status : false;
        },
        90000,
        500,
      );
      return `phase ${st.phase}, available ${st.availableReplicas}, stableRS ${st.stableRS}`;
    });
    await check('Gateway API CRDs are served', async () => {
      kubectl(['get', 'httproutes.gateway.networking.k8s.io', '-n', ns]);
      return 'httproutes listable';
    });
  }
}

try {
  await main();
  console.log(`\nselfcheck passed (${results.length} checks)`);
} catch {
  console.log(`\nselfcheck FAILED`);
  process.exitCode = 1;
} finally {
  for (const c of cleanups.reverse()) {
    try {
      c();
    } catch {}
  }
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
}
