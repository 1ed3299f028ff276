// Heavy libraries are bundled apart (dist/vendor/<name>.js) and loaded by the extension on first use, so
// activation does not pay for them. The extension bundle sees each as a module whose export names are known
// at build time and whose values come from the vendor bundle when first read.
import * as esbuild from 'esbuild';
import { createRequire } from 'node:module';
import * as path from 'node:path';

export const LAZY_VENDORS = ['@kubernetes/client-node', 'dockerode', '@octokit/rest', 'chrome-remote-interface'];

const fileName = (pkg) => pkg.replace(/^@/, '').replace(/\//g, '-');

export function lazyVendorPlugin(root) {
  const require = createRequire(path.join(root, 'package.json'));
  return {
    name: 'lazy-vendors',
    setup(build) {
      const filter = new RegExp(`^(${LAZY_VENDORS.map((p) => p.replace(/[/.]/g, '\\$&')).join('|')})$`);
      build.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'lazy-vendor' }));
      build.onLoad({ filter: /.*/, namespace: 'lazy-vendor' }, (args) => {
        const names = Object.keys(require(args.path)).filter((n) => n !== 'default' && n !== '__esModule');
        return {
          loader: 'js',
          contents: `
let loaded;
const load = () => (loaded ??= require(__dirname + '/vendor/${fileName(args.path)}.js'));
const names = ${JSON.stringify(names)};
module.exports = new Proxy({}, {
  get: (_t, key) => (key === '__esModule' ? false : load()[key]),
  has: (_t, key) => names.includes(key),
  ownKeys: () => names,
  getOwnPropertyDescriptor: (_t, key) => (names.includes(key) ? { configurable: true, enumerable: true, writable: false, value: undefined } : undefined),
});`,
        };
      });
    },
  };
}

export function vendorBuilds(options) {
  return LAZY_VENDORS.map((pkg) => esbuild.build({ ...options, entryPoints: [pkg], outfile: `dist/vendor/${fileName(pkg)}.js` }));
}
