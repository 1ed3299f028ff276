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
        const mod = require(args.path);
        const names = Object.keys(mod).filter((n) => n !== 'default' && n !== '__esModule');
        // A module that is itself a class (dockerode) must stay callable and constructible.
        const callable = typeof mod === 'function';
        return {
          loader: 'js',
          contents: `'use strict';
let loaded;
const load = () => (loaded ??= require(__dirname + '/vendor/${fileName(args.path)}.js'));
const names = ${JSON.stringify(names)};
module.exports = new Proxy(${callable ? 'function () {}' : '{}'}, {
  get: (_t, key) => (key === '__esModule' ? false : load()[key]),
  has: (_t, key) => names.includes(key),
  ownKeys: () => ${callable ? "[...names, 'prototype']" : 'names'},
  getOwnPropertyDescriptor: (t, key) => (key === 'prototype' ? Reflect.getOwnPropertyDescriptor(t, key) : names.includes(key) ? { configurable: true, enumerable: true, writable: false, value: undefined } : undefined),
  construct: (_t, args) => Reflect.construct(load(), args),
  apply: (_t, self, args) => Reflect.apply(load(), self, args),
});`,
        };
      });
    },
  };
}

export function vendorBuilds(options) {
  return LAZY_VENDORS.map((pkg) => esbuild.build({ ...options, entryPoints: [pkg], outfile: `dist/vendor/${fileName(pkg)}.js` }));
}
