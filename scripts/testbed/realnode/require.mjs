// Whether the running testbed has a working real node; the integration and e2e tiers refuse to run without one
// (never a silent fall back to KWOK). On failure: what is wrong, naming the component, with its log's last 30 lines.
//   node scripts/testbed/realnode/require.mjs   (exit 1 and the explanation when the real node is not usable)
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TESTBED_JSON, logTail, pidAlive, readJson, readPid, sh } from '../lib.mjs';
import { NODE_NAME } from './config.mjs';

/** In start order: the first one that is not running is the one to look at. */
const COMPONENTS = ['containerd', 'coredns', 'kubelet', 'kube-proxy', 'traefik', 'pod-targets'];

function tail(info, name) {
  const file = path.join(info.logsDir, `${name}.log`);
  return `---- last 30 lines of ${file} ----\n${logTail(file, 30)}\n----`;
}

/** null when the real node is usable, else an explanation (with the failing component's log tail). */
export function realNodeProblem(info = readJson(TESTBED_JSON)) {
  if (!info) return `no ${TESTBED_JSON}: the testbed is not up (node scripts/testbed/testbed.mjs up)`;
  if (!info.realNode)
    return (
      'the testbed runs without the real node (it was brought up with --no-real-node or SANDPIPER_REAL_NODE=0); ' +
      'these tests need real containers: run `node scripts/testbed/testbed.mjs down`, then `up`'
    );
  for (const name of COMPONENTS) {
    const pid = readPid(name);
    if (!pidAlive(pid)) return `real node: ${name} is not running (pid ${pid ?? 'none'})\n${tail(info, name)}`;
  }
  const r = sh(
    path.join(info.binDir, 'kubectl'),
    [
      '--kubeconfig',
      info.kubeconfig,
      'get',
      'node',
      NODE_NAME,
      '-o',
      'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
    ],
    { check: false, timeout: 10000 },
  );
  if (r.status !== 0)
    return `real node: cannot read node ${NODE_NAME}: ${(r.stderr || '').trim()}\n${tail(info, 'kubelet')}`;
  if (r.stdout.trim() !== 'True')
    return `real node: node ${NODE_NAME} is not Ready (Ready=${r.stdout.trim() || 'unknown'})\n${tail(info, 'kubelet')}`;
  return null;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const problem = realNodeProblem();
  if (problem) {
    console.error(`[testbed] ${problem}`);
    process.exitCode = 1;
  } else console.log(`[testbed] real node ${NODE_NAME} Ready`);
}
