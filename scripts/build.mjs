// Bundles the extension, the CLI, the webview and the extension-host tests with esbuild.
// Usage: node scripts/build.mjs [--dev] [--tests]
import * as esbuild from 'esbuild';
import { cp, mkdir, rm } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { lazyVendorPlugin, vendorBuilds } from './lazyVendors.mjs';
import { writeSchemaValidator } from './schemaValidator.mjs';
import { writeCanaryManifest } from './canaryManifest.mjs';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const dev = process.argv.includes('--dev');
const tests = process.argv.includes('--tests');
const started = Date.now();

function exthostSuites() {
  const out = [];
  const walk = (dir) => {
    for (const e of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(rel);
      else if (e.name.endsWith('.exthost.ts')) out.push(rel);
    }
  };
  walk('test/exthost');
  return out.sort();
}

// Native optional parts of dockerode's ssh transport are never used (we talk to local sockets).
const nodeExternal = ['vscode', 'cpu-features', '*.node'];
const common = {
  absWorkingDir: root,
  bundle: true,
  logLevel: 'warning',
  sourcemap: dev ? 'inline' : false,
  minify: !dev,
  keepNames: true,
  legalComments: 'none',
};
const node = {
  ...common,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: nodeExternal,
  mainFields: ['module', 'main'],
};

// A vendor dropped from LAZY_VENDORS must not linger in dist/ (and so in the .vsix).
await rm(path.join(root, 'dist/vendor'), { recursive: true, force: true });
if (writeSchemaValidator()) console.log('[build] schema changed: regenerated src/core/config/schemaValidator.cjs');
if (writeCanaryManifest()) console.log('[build] canary-controller.yaml changed: regenerated its module');
const builds = [
  esbuild.build({
    ...node,
    entryPoints: ['src/extension.ts'],
    outfile: 'dist/extension.js',
    plugins: [lazyVendorPlugin(root)],
  }),
  ...vendorBuilds(node),
  esbuild.build({ ...node, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js' }),
  esbuild.build({
    ...common,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    entryPoints: ['webview-ui/rollout/main.ts'],
    outfile: 'dist/webview/rollout.js',
  }),
];
if (tests) {
  builds.push(
    esbuild.build({
      ...node,
      minify: false,
      sourcemap: 'inline',
      entryPoints: { index: 'test/exthost/runner/index.ts' },
      outdir: 'out/exthost',
      external: [...nodeExternal, './suite.js'],
    }),
    // Every test/exthost/**/*.exthost.ts file, in one bundle the runner loads.
    esbuild.build({
      ...node,
      minify: false,
      sourcemap: 'inline',
      outfile: 'out/exthost/suite.js',
      stdin: {
        contents: exthostSuites()
          .map((f) => `require('./${f}');`)
          .join('\n'),
        resolveDir: root,
        sourcefile: 'exthost-suite.js',
        loader: 'js',
      },
    }),
  );
}
await Promise.all(builds);
await mkdir(path.join(root, 'dist/webview'), { recursive: true });
await cp(path.join(root, 'node_modules/uplot/dist/uPlot.min.css'), path.join(root, 'dist/webview/uPlot.min.css'));
console.log(`[build] ${dev ? 'development' : 'production'} bundles in ${Date.now() - started} ms`);
