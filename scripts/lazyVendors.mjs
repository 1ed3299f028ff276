// Heavy libraries are bundled apart (dist/vendor/<name>.js) and loaded by the extension on first use, so
// activation does not pay for them. The extension bundle sees each as a module whose export names are known
// at build time and whose values come from the vendor bundle when first read.
import * as esbuild from 'esbuild';
import { createRequire } from 'node:module';
import * as path from 'node:path';

export const LAZY_VENDORS = [
  '@kubernetes/client-node',
  // Only the port-forwarder needs it; client-node does not export it from its index.
  '@kubernetes/client-node/dist/web-socket-handler.js',
  '@octokit/rest',
  '@vscode/debugadapter',
  'codeowners-utils',
  'dockerode',
  'ignore',
  'js-yaml',
  'tar-stream',
  'ws',
  'yaml',
  // sandpiper.yaml's compiled schema (package.json "imports"; scripts/schemaValidator.mjs).
  '#schema-validator',
];

const fileName = (pkg) => pkg.replace(/^[@#]/, '').replace(/\.js$/, '').replace(/\//g, '-');

export function lazyVendorPlugin(root) {
  const require = createRequire(path.join(root, 'package.json'));
  return {
    name: 'lazy-vendors',
    setup(build) {
      const filter = new RegExp(`^(${LAZY_VENDORS.map((p) => p.replace(/[/.]/g, '\\$&')).join('|')})$`);
      build.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'lazy-vendor' }));
      build.onLoad({ filter: /.*/, namespace: 'lazy-vendor' }, (args) => {
        // A module that is itself a class or a function (dockerode, ajv, ignore, ws) stays callable and constructible.
        const callable = typeof require(args.path) === 'function';
        return { loader: 'js', contents: stub(`/vendor/${fileName(args.path)}.js`, callable) };
      });
    },
  };
}

// esbuild's interop gives each importer an object made with Object.create(<prototype of the module>) and copies
// the module's own keys onto it. The stub has no own keys of its own (beyond a function's) and a prototype that
// reads through to the vendor bundle, so that copy costs nothing at load and every read is lazy. `__esModule` is
// false: a default import gets the module itself, as Node gives a CommonJS module.
function stub(file, callable) {
  return `'use strict';
let loaded;
const load = () => (loaded ??= require(__dirname + ${JSON.stringify(file)}));
const read = { get: (_t, key) => (key === '__esModule' ? false : load()[key]), has: (_t, key) => key in load() };
const exportsProto = new Proxy({}, read);
module.exports = new Proxy(${callable ? 'function () {}' : '{}'}, {
  ...read,
  getPrototypeOf: () => exportsProto,
  construct: (_t, args) => Reflect.construct(load(), args),
  apply: (_t, self, args) => Reflect.apply(load(), self, args),
});`;
}

// Each vendor bundle exports what require() gives (the stub was made from that): as an entry point esbuild would
// pick a package's "import" condition, and ws's ESM wrapper exports an object where require gives the class.
export function vendorBuilds(options) {
  return LAZY_VENDORS.map((pkg) =>
    esbuild.build({
      ...options,
      stdin: {
        contents: `module.exports = require(${JSON.stringify(pkg)});`,
        resolveDir: options.absWorkingDir,
        sourcefile: `${fileName(pkg)}.js`,
      },
      outfile: `dist/vendor/${fileName(pkg)}.js`,
    }),
  );
}
