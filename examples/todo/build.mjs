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

/** One line per build (the .vscode/tasks.json problem matcher waits for these), with the time it took. */
const report = {
  name: 'report',
  setup(build) {
    let started = 0;
    build.onStart(() => {
      started = Date.now();
      if (watch) console.log('[watch] build started');
    });
    build.onEnd((result) => {
      const errors = result.errors.length;
      console.log(`${services.join(', ')}: ${errors ? `${errors} error(s)` : 'built'} in ${Date.now() - started} ms`);
      if (watch) console.log('[watch] build finished');
    });
  },
};

const services = SERVICES.filter((s) => existsSync(path.join(root, s, 'src', 'server.ts')));
// One build for all services (one start/finish for the watch task); each bundle stands alone.
const options = {
  absWorkingDir: root,
  entryPoints: Object.fromEntries(services.map((s) => [`${s}/dist/server`, `${s}/src/server.ts`])),
  outdir: root,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  sourcesContent: false,
  // pg tries an optional native binding; the pure-JS client is the one used.
  external: ['pg-native'],
  logLevel: 'warning',
  plugins: [report],
};

if (watch) {
  await (await esbuild.context(options)).watch();
} else {
  await esbuild.build(options).catch(() => (process.exitCode = 1));
}
