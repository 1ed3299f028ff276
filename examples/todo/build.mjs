// Bundles each service's src/server.ts (with lib/, pg and prom-client inlined) into <service>/dist/server.js and
// its source map. Usage: node build.mjs [--watch]
//
// The map's `sources` are relative to <service>/dist/ (`../src/routes.ts`, `../../lib/server.ts`) and carry no
// contents: the debugger (localRoot = the service folder, remoteRoot = /app) maps a breakpoint to the files on disk.
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(fileURLToPath(import.meta.url));
const SERVICES = ['tasks', 'search', 'auth'];
const watch = process.argv.includes('--watch');

/** Logs each build's outcome as one line, the format .vscode/tasks.json's problem matcher watches for. */
const report = (name) => ({
  name: 'report',
  setup(build) {
    let started = 0;
    build.onStart(() => {
      started = Date.now();
      if (watch) console.log(`[watch] build started (${name})`);
    });
    build.onEnd((result) => {
      const ms = Date.now() - started;
      const errors = result.errors.length;
      console.log(`${name}: ${errors ? `${errors} error(s)` : 'built'} in ${ms} ms`);
      if (watch) console.log(`[watch] build finished (${name})`);
    });
  },
});

const options = (name) => ({
  absWorkingDir: root,
  entryPoints: [path.join(name, 'src', 'server.ts')],
  outfile: path.join(name, 'dist', 'server.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  sourcesContent: false,
  // pg tries an optional native binding; the pure-JS client is the one used.
  external: ['pg-native'],
  logLevel: 'warning',
  plugins: [report(name)],
});

const services = SERVICES.filter((s) => existsSync(path.join(root, s, 'src', 'server.ts')));
if (watch) {
  for (const s of services) await (await esbuild.context(options(s))).watch();
} else {
  const results = await Promise.allSettled(services.map((s) => esbuild.build(options(s))));
  if (results.some((r) => r.status === 'rejected')) process.exitCode = 1;
}
