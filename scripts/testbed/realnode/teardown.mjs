// Tears the real node down and puts the host back as `up` found it: every container, sandbox, mount, network
// namespace, veth, bridge, route and iptables rule of ours, the sysctls kubelet changes, the cgroups and host
// folders it creates. `recordHost` snapshots the host on the first `up`; `downRealNode` restores and verifies.
import fs from 'node:fs';
import path from 'node:path';
import { mountsUnder, pidAlive, readJson, readPid, sh, sleep, stopPid, which, writeJson } from '../lib.mjs';
import { BRIDGE, EGRESS_GUARD, HOST_PATHS, SERVICE_CIDR, SYSCTLS } from './config.mjs';

const CGROUP_ROOT = '/sys/fs/cgroup';
// Chains kubelet, kube-proxy and our guard add (and CNI-, had a plugin masqueraded): ours to remove.
const OUR_RULES = new RegExp(`KUBE-|${EGRESS_GUARD}|CNI-`);
const NETNS_DIRS = ['/run/netns', '/var/run/netns'];

function sysctl(name) {
  return sh('sysctl', ['-n', name]).stdout.trim();
}

function ruleLines(tool) {
  if (!which(`${tool}-save`)) return [];
  const r = sh(`${tool}-save`, [], { check: false });
  // Counters and comments change run to run; the rules themselves are what must come back.
  return r.status === 0
    ? r.stdout
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => l.replace(/ \[\d+:\d+\]$/, ''))
    : [];
}

function nftTables() {
  if (!which('nft')) return null;
  const r = sh('nft', ['list', 'tables'], { check: false });
  return r.status === 0 ? r.stdout.split('\n').filter(Boolean).sort() : null;
}

function cgroupHierarchies() {
  try {
    return fs
      .readdirSync(CGROUP_ROOT)
      .map((h) => path.join(CGROUP_ROOT, h))
      .filter((p) => fs.statSync(p).isDirectory());
  } catch {
    return [];
  }
}

function vethLinks() {
  const r = sh('ip', ['-o', 'link', 'show', 'type', 'veth'], { check: false });
  return (r.stdout || '')
    .split('\n')
    .map((l) => (l.split(': ')[1] || '').split('@')[0])
    .filter(Boolean)
    .sort();
}

function netnsMounts() {
  const out = [];
  for (const line of fs.readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const mp = line.split(' ')[1] || '';
    if (NETNS_DIRS.some((d) => mp.startsWith(d + '/cni-'))) out.push(mp);
  }
  return [...new Set(out)];
}

/** Snapshot of what `down` must restore; taken once, before anything of the real node touches the host. */
export function recordHost(d) {
  if (fs.existsSync(d.hostBefore)) return readJson(d.hostBefore);
  const snap = {
    takenAt: new Date().toISOString(),
    sysctls: Object.fromEntries(SYSCTLS.map((s) => [s, sysctl(s)])),
    iptables: ruleLines('iptables'),
    ip6tables: ruleLines('ip6tables'),
    nftTables: nftTables(),
    hostPaths: HOST_PATHS.filter((p) => fs.existsSync(p)),
    veths: vethLinks(),
    kubepods: cgroupHierarchies().filter((h) => fs.existsSync(path.join(h, 'kubepods'))),
  };
  writeJson(d.hostBefore, snap);
  return snap;
}

/** SIGKILL every process in the kubepods cgroups (the containers), whether or not containerd still runs. */
function killPodProcesses() {
  const pids = new Set();
  const walk = (dir) => {
    let entries;
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    try {
      for (const p of fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (p) pids.add(Number(p));
    } catch {}
    for (const e of entries) if (e.isDirectory()) walk(path.join(dir, e.name));
  };
  for (const h of cgroupHierarchies()) walk(path.join(h, 'kubepods'));
  for (const pid of pids)
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  return pids.size;
}

function removeCgroupTree(dir) {
  let entries = [];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) removeCgroupTree(path.join(dir, e.name));
  try {
    fs.rmdirSync(dir);
  } catch {}
}

/** PIDs whose command line mentions dir (containerd, its shims). */
function procsMentioning(dir) {
  const out = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (!fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir)) continue;
      if (/\) Z /.test(fs.readFileSync(`/proc/${p}/stat`, 'utf8'))) continue;
      out.push(Number(p));
    } catch {}
  }
  return out;
}

/** Removes our rules by rewriting each table without them (kube-proxy --cleanup needs nft + ipset and leaves chains). */
function restoreRules(tool, before) {
  const now = ruleLines(tool);
  if (!now.some((l) => OUR_RULES.test(l) && !before.includes(l))) return;
  const keep = sh(`${tool}-save`, [])
    .stdout.split('\n')
    .filter((l) => !(OUR_RULES.test(l) && !before.includes(l.replace(/ \[\d+:\d+\]$/, ''))));
  sh(`${tool}-restore`, [], { input: keep.join('\n') + '\n' });
}

/**
 * Stops the real node and restores the host. ctx: { state, dirs, kubectl? } (kubectl only while the API answers).
 * Returns { stopped: string[], problems: string[] }; `problems` empty means clean.
 */
export async function downRealNode(ctx) {
  const d = ctx.dirs;
  const stopped = [];
  const problems = [];
  const before = readJson(d.hostBefore);
  if (ctx.kubectl)
    ctx.kubectl(['delete', 'node', 'localhost', '--ignore-not-found', '--wait=false'], {
      check: false,
      timeout: 15000,
    });
  for (const name of ['pod-access', 'traefik', 'coredns', 'kube-proxy', 'kubelet']) {
    const pid = readPid(name);
    if (pid && pidAlive(pid)) {
      if (await stopPid(pid, 15000)) stopped.push(`${name}(${pid})`);
      else problems.push(`${name} (pid ${pid}) did not exit`);
    }
    fs.rmSync(path.join(ctx.state, 'pids', `${name}.pid`), { force: true });
  }
  // Containers first (kill, then let containerd remove tasks, containers and sandboxes), then containerd and its shims.
  const killed = killPodProcesses();
  if (killed) stopped.push(`${killed} container process(es)`);
  const cpid = readPid('containerd');
  if (cpid && pidAlive(cpid)) {
    const ctr = (args) =>
      sh(which('ctr') || 'ctr', ['-a', d.containerdSock, '-n', 'k8s.io', ...args], { check: false, timeout: 20000 });
    await sleep(300);
    for (const t of (ctr(['tasks', 'ls', '-q']).stdout || '').split('\n').filter(Boolean))
      ctr(['tasks', 'delete', '-f', t]);
    for (const c of (ctr(['containers', 'ls', '-q']).stdout || '').split('\n').filter(Boolean))
      ctr(['containers', 'delete', c]);
    if (await stopPid(cpid, 15000)) stopped.push(`containerd(${cpid})`);
    else problems.push(`containerd (pid ${cpid}) did not exit`);
  }
  fs.rmSync(path.join(ctx.state, 'pids', 'containerd.pid'), { force: true });
  for (const pid of procsMentioning(d.run)) {
    if (await stopPid(pid, 5000)) stopped.push(`shim(${pid})`);
    else problems.push(`process ${pid} (${d.run}) did not exit`);
  }
  // Network namespaces containerd made (bind mounts in /run/netns): unmount, then the file; their veths go with them.
  for (const mp of netnsMounts()) {
    if (sh('umount', [mp], { check: false }).status !== 0) sh('umount', ['-l', mp], { check: false });
    fs.rmSync(mp, { force: true });
  }
  for (const mp of mountsUnder(d.root)) {
    if (sh('umount', [mp], { check: false }).status !== 0) sh('umount', ['-l', mp], { check: false });
  }
  if (before) {
    restoreHost(before);
  } else if (fs.existsSync(d.root)) {
    problems.push(`no host snapshot (${d.hostBefore}): sysctls and host folders not restored`);
  }
  problems.push(...verify(d, before));
  if (!problems.length) fs.rmSync(d.root, { recursive: true, force: true });
  return { stopped, problems };
}

function restoreHost(before) {
  for (const tool of ['iptables', 'ip6tables']) restoreRules(tool, before[tool] || []);
  // iptables-nft leaves the tables it created; drop the ones the host did not have, if now empty.
  const tables = nftTables();
  if (tables && before.nftTables) {
    for (const t of tables.filter((x) => !before.nftTables.includes(x))) {
      const [, family, name] = t.split(' ');
      const listed = (sh('nft', ['list', 'table', family, name], { check: false }).stdout || '').split('\n');
      const rules = listed.map((l) => l.trim()).filter((l) => l && !/^(table|chain|type|policy|\})/.test(l));
      if (!rules.length) sh('nft', ['delete', 'table', family, name], { check: false });
    }
  }
  if (sh('ip', ['link', 'show', BRIDGE], { check: false }).status === 0)
    sh('ip', ['link', 'del', BRIDGE], { check: false });
  for (const v of vethLinks().filter((x) => !(before.veths || []).includes(x)))
    sh('ip', ['link', 'del', v], { check: false });
  for (const [k, v] of Object.entries(before.sysctls || {})) sh('sysctl', ['-qw', `${k}=${v}`], { check: false });
  for (const h of cgroupHierarchies())
    if (!(before.kubepods || []).includes(h)) removeCgroupTree(path.join(h, 'kubepods'));
  for (const p of HOST_PATHS) {
    if ((before.hostPaths || []).includes(p)) continue;
    if (NETNS_DIRS.includes(p)) {
      try {
        fs.rmdirSync(p);
      } catch {}
    } else fs.rmSync(p, { recursive: true, force: true });
  }
}

/** Everything `down` promises, checked against the host as it is now. */
function verify(d, before) {
  const problems = [];
  for (const pid of procsMentioning(d.run)) problems.push(`process ${pid} still references ${d.run}`);
  for (const mp of mountsUnder(d.root)) problems.push(`mount ${mp} still present`);
  for (const mp of netnsMounts()) problems.push(`network namespace mount ${mp} still present`);
  if (sh('ip', ['link', 'show', BRIDGE], { check: false }).status === 0)
    problems.push(`bridge ${BRIDGE} still present`);
  if ((sh('ip', ['route', 'show', SERVICE_CIDR], { check: false }).stdout || '').trim())
    problems.push(`route ${SERVICE_CIDR} still present`);
  if (!before) return problems;
  for (const v of vethLinks().filter((x) => !(before.veths || []).includes(x)))
    problems.push(`veth ${v} still present`);
  for (const tool of ['iptables', 'ip6tables']) {
    for (const l of ruleLines(tool))
      if (OUR_RULES.test(l) && !(before[tool] || []).includes(l)) problems.push(`${tool}: ${l}`);
  }
  const tables = nftTables();
  if (tables && before.nftTables)
    for (const t of tables.filter((x) => !before.nftTables.includes(x))) problems.push(`nft ${t} left`);
  for (const [k, v] of Object.entries(before.sysctls || {}))
    if (sysctl(k) !== v) problems.push(`sysctl ${k}=${sysctl(k)} (was ${v})`);
  for (const h of cgroupHierarchies()) {
    if (!(before.kubepods || []).includes(h) && fs.existsSync(path.join(h, 'kubepods')))
      problems.push(`cgroup ${h}/kubepods still present`);
  }
  for (const p of HOST_PATHS)
    if (!(before.hostPaths || []).includes(p) && fs.existsSync(p)) problems.push(`${p} still present`);
  return problems;
}
