#!/usr/bin/env node
// Pod access for the real node: the API server and Prometheus listen on 127.0.0.1 only, which a pod cannot reach.
// This daemon (started by `up`, stopped by PID in `down`) relays plain TCP from the bridge address to them, so an
// in-cluster client (the canary controller) dials https://10.244.0.1:<port> (TLS server name `localhost`, which the
// API server's certificate names) and http://10.244.0.1:<port> for Prometheus. TLS passes through untouched.
//   node scripts/testbed/realnode/forward.mjs 10.244.0.1:PORT=127.0.0.1:PORT [...]
// It listens on the bridge address only (never 0.0.0.0): nothing off this machine can reach it, and it connects
// to loopback only.
import net from 'node:net';
import { BRIDGE_IP } from './config.mjs';

/** Parses `listenHost:port=targetHost:port`; refuses any listener but the bridge and any target but loopback. */
export function parseForward(spec) {
  const m = /^([\d.]+):(\d+)=([\d.]+):(\d+)$/.exec(spec);
  if (!m) throw new Error(`bad forward "${spec}": use ${BRIDGE_IP}:PORT=127.0.0.1:PORT`);
  const [, listenHost, listenPort, toHost, toPort] = m;
  if (listenHost !== BRIDGE_IP) throw new Error(`refusing to listen on ${listenHost}: only ${BRIDGE_IP} is allowed`);
  if (toHost !== '127.0.0.1') throw new Error(`refusing to forward to ${toHost}: only 127.0.0.1 is allowed`);
  return { listenHost, listenPort: Number(listenPort), toHost, toPort: Number(toPort) };
}

function say(msg) {
  console.log(`${new Date().toISOString()} ${msg}`);
}

function serve(f, sockets) {
  const server = net.createServer((client) => {
    sockets.add(client);
    const upstream = net.connect({ host: f.toHost, port: f.toPort });
    sockets.add(upstream);
    const done = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(f.listenPort, f.listenHost, () => {
      say(`forwarding ${f.listenHost}:${f.listenPort} → ${f.toHost}:${f.toPort}`);
      resolve(server);
    });
  });
}

async function main() {
  const forwards = process.argv.slice(2).map(parseForward);
  if (!forwards.length) throw new Error(`usage: forward.mjs ${BRIDGE_IP}:PORT=127.0.0.1:PORT [...]`);
  const sockets = new Set();
  const servers = await Promise.all(forwards.map((f) => serve(f, sockets)));
  const stop = () => {
    for (const s of servers) s.close();
    for (const s of sockets) s.destroy();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  main().catch((e) => {
    console.error(`forward failed: ${e.message}`);
    process.exit(1);
  });
}
