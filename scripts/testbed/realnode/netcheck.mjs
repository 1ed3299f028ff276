// The network rule of this machine, checked from the configuration that guarantees it (no packet leaves to check):
// the egress guard is in place; nothing masquerades a pod source out of a non-bridge interface; pods have no default
// route; the Service range is routed to the bridge; CoreDNS has no forward plugin and refuses outside names;
// every listener of ours is on loopback (or, for CoreDNS, the bridge address).
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { sh } from '../lib.mjs';
import { corednsBin } from './build.mjs';
import { realNodeDirs } from './node.mjs';
import {
  BRIDGE,
  BRIDGE_IP,
  EGRESS_GUARD,
  POD_CIDR,
  REDIRECTED_REGISTRIES,
  SERVICE_CIDR,
  guardRules,
} from './config.mjs';

const RCODE = { 0: 'NOERROR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 5: 'REFUSED' };

/** One DNS query (type A) to our CoreDNS on the bridge address; resolves to { rcode, answers }. */
export function dnsQuery(name, server = BRIDGE_IP, timeoutMs = 3000) {
  const id = Math.floor(Math.random() * 65535);
  const labels = name
    .split('.')
    .filter(Boolean)
    .map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const header = Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]); // RD, one question
  const msg = Buffer.concat([header, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error(`no DNS answer for ${name} from ${server}`));
    }, timeoutMs);
    sock.on('message', (buf) => {
      clearTimeout(timer);
      sock.close();
      const rcode = buf[3] & 15;
      resolve({ rcode: RCODE[rcode] || String(rcode), answers: buf.readUInt16BE(6) });
    });
    sock.send(msg, 53, server);
  });
}

function ipt(table, args) {
  return sh('iptables', ['-w', '5', '-t', table, ...args])
    .stdout.split('\n')
    .filter(Boolean);
}

/** NAT rules that could rewrite a pod's packet leaving by another interface than the bridge. */
function riskyNatRules() {
  const rules = ipt('nat', ['-S']).filter((l) => l.startsWith('-A ') && / -j (MASQUERADE|SNAT)\b/.test(l));
  const risky = [];
  for (const r of rules) {
    if (new RegExp(`-o ${BRIDGE}\\b`).test(r)) continue;
    if (r.includes(` ! -s ${POD_CIDR}`)) continue; // non-pod sources only
    const src = (r.match(/ -s (\S+)/) || [])[1];
    if (src && !src.startsWith(POD_CIDR.split('.').slice(0, 3).join('.')) && src !== '0.0.0.0/0') continue;
    // kube-proxy's own: KUBE-POSTROUTING masquerades only packets it marked, after `! --mark ... -j RETURN`.
    if (r.startsWith('-A KUBE-POSTROUTING')) {
      const chain = ipt('nat', ['-S', 'KUBE-POSTROUTING']);
      const gate = chain.findIndex((l) => /-m mark ! --mark 0x4000\/0x4000 -j RETURN/.test(l));
      if (gate >= 0 && gate < chain.indexOf(r)) continue;
    }
    risky.push(r);
  }
  return { total: rules.length, risky };
}

/** Listening sockets of the given pids (ss -ltunp): [{ addr, proc, pid }]. */
export function listeners(pids) {
  const out = [];
  for (const l of sh('ss', ['-ltunpH'], { check: false }).stdout.split('\n')) {
    const m = l.match(/^\S+\s+\S+\s+\d+\s+\d+\s+(\S+)\s+\S+\s+users:\(\((.*)\)\)/);
    if (!m) continue;
    const owners = [...m[2].matchAll(/"([^"]+)",pid=(\d+)/g)];
    const own = owners.find(([, , pid]) => pids.includes(Number(pid)));
    if (own) out.push({ addr: m[1], proc: own[1], pid: Number(own[2]) });
  }
  return out;
}

/** An address of ours that is not reachable from another machine: loopback or the bridge. */
export function localAddress(a) {
  return a.startsWith('127.') || a.startsWith('[::1]') || a.startsWith(`${BRIDGE_IP}:`) || a.startsWith('[::ffff:127.');
}

/**
 * Returns [{ name, ok, detail }]. ctx: { inPod(cmd) (sync, → { stdout }), dirs, corednsBin, pids, ns,
 * knownService (a Service in ns that must resolve; default web-v1) }.
 */
export async function checkNetworkRule(ctx) {
  const out = [];
  const add = (name, ok, detail) => out.push({ name, ok, detail });

  const post = ipt('mangle', ['-S', 'POSTROUTING']);
  const guard = ipt('mangle', ['-S', EGRESS_GUARD]).filter((l) => l.startsWith('-A '));
  const want = guardRules().map((r) => `-A ${EGRESS_GUARD} ${r.join(' ')}`);
  const firstJump = post.find((l) => l.startsWith('-A POSTROUTING'));
  add(
    'egress guard: first mangle POSTROUTING rule, RETURN bridge/lo, DROP pod sources and DNATed packets',
    firstJump === `-A POSTROUTING -j ${EGRESS_GUARD}` &&
      guard.length === want.length &&
      want.every((w, i) => guard[i] === w),
    guard.join(' | '),
  );

  const nat = riskyNatRules();
  add(
    'no MASQUERADE/SNAT for pod sources to non-bridge interfaces',
    nat.risky.length === 0,
    `${nat.total} masquerade/SNAT rule(s), all mark-gated (kube-proxy) or bridge-only${nat.risky.length ? '; risky: ' + nat.risky.join(' | ') : ''}`,
  );

  const conf = JSON.parse(
    fs.readFileSync(path.join(ctx.dirs.cniConfDir, fs.readdirSync(ctx.dirs.cniConfDir)[0]), 'utf8'),
  );
  const bridge = conf.plugins.find((p) => p.type === 'bridge');
  const types = conf.plugins.map((p) => p.type);
  add(
    'CNI: bridge with ipMasq false, no portmap, routes only the Service range',
    bridge.ipMasq === false &&
      !types.includes('portmap') &&
      JSON.stringify(bridge.ipam.routes) === JSON.stringify([{ dst: SERVICE_CIDR }]),
    `plugins ${types.join(',')}, routes ${JSON.stringify(bridge.ipam.routes)}`,
  );

  const podRoutes = ctx.inPod('ip route').stdout.trim().split('\n');
  const probe = ctx.inPod('ip route get 1.1.1.1 2>&1; echo "exit=$?"').stdout.trim().replace(/\n/g, ' ');
  add(
    'pods have no default route (routing lookup only, no packet)',
    !podRoutes.some((l) => l.startsWith('default')) && /unreachable/i.test(probe),
    `${podRoutes.join('; ')} | ip route get 1.1.1.1: ${probe}`,
  );

  const hostRoute = sh('ip', ['route', 'show', SERVICE_CIDR]).stdout.trim();
  add(
    `host routes the Service range ${SERVICE_CIDR} to ${BRIDGE}`,
    new RegExp(`dev ${BRIDGE}\\b`).test(hostRoute),
    hostRoute,
  );

  const plugins = sh(ctx.corednsBin, ['-plugins']).stdout;
  const outside = await dnsQuery('example.com');
  const unknown = await dnsQuery(`no-such-service.${ctx.ns}.svc.cluster.local`);
  const knownService = ctx.knownService ?? 'web-v1';
  const known = await dnsQuery(`${knownService}.${ctx.ns}.svc.cluster.local`);
  add(
    'CoreDNS: no forward plugin; outside names REFUSED, unknown cluster names NXDOMAIN',
    !/\bdns\.forward\b/.test(plugins) &&
      outside.rcode === 'REFUSED' &&
      unknown.rcode === 'NXDOMAIN' &&
      known.rcode === 'NOERROR' &&
      known.answers > 0,
    `example.com ${outside.rcode}, no-such-service ${unknown.rcode}, ${knownService} ${known.rcode} (${known.answers} answer)`,
  );
  const podLookup = ctx.inPod('nslookup example.com 2>&1; echo "exit=$?"').stdout.trim().replace(/\s+/g, ' ');
  add(
    'a pod cannot resolve outside names',
    /exit=[1-9]/.test(podLookup) && !/Name:\s+example\.com/.test(podLookup),
    podLookup.slice(0, 160),
  );

  const hosts = REDIRECTED_REGISTRIES.map((r) => {
    const f = path.join(ctx.dirs.registryHostsDir, r, 'hosts.toml');
    return [r, fs.existsSync(f) ? (fs.readFileSync(f, 'utf8').match(/^server = "([^"]+)"/m) || [])[1] : undefined];
  });
  add(
    'containerd pulls docker.io and registry.k8s.io images from the testbed registry only',
    hosts.every(([, server]) => /^http:\/\/127\.0\.0\.1:\d+$/.test(server || '')),
    hosts.map(([r, srv]) => `${r} → ${srv}`).join(', '),
  );

  const pids = Object.values(ctx.pids).filter(Boolean);
  const socks = listeners(pids);
  const wide = socks.filter((s) => !localAddress(s.addr));
  add(
    'every listener of the real node is on loopback (CoreDNS: the bridge address)',
    wide.length === 0,
    wide.length
      ? wide.map((s) => `${s.proc} ${s.addr}`).join(', ')
      : `${socks.length} sockets: ${[...new Set(socks.map((s) => s.addr))].join(' ')}`,
  );
  return out;
}

/** checkNetworkRule on the running testbed described by testbed.json's content `info` (its real node's pids). */
export function checkTestbedNetworkRule(info, { ns, inPod, knownService }) {
  return checkNetworkRule({
    inPod,
    dirs: realNodeDirs(info.state),
    corednsBin: corednsBin(),
    pids: info.realNode.pids,
    ns,
    knownService,
  });
}
