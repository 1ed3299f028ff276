'use strict';
// A stand-in for the `vscode` module so the built extension can be loaded and activated under plain Node
// for timing (no transpiler in the way). Every property is a callable, constructible object.
const { readFileSync } = require('node:fs');
const Module = require('node:module');

function standIn(name) {
  const target = function () {
    /* stand-in */
  };
  const cache = new Map();
  return new Proxy(target, {
    get(_t, key) {
      if (key === 'then') return undefined; // not a promise
      if (key === Symbol.toPrimitive) return () => name;
      if (key === Symbol.iterator)
        return function* () {
          /* empty */
        };
      if (key === 'prototype') return Object.prototype;
      if (!cache.has(key)) cache.set(key, standIn(`${name}.${String(key)}`));
      return cache.get(key);
    },
    set(_t, key, value) {
      cache.set(key, value);
      return true;
    },
    apply: () => standIn(`${name}()`),
    construct: () => standIn(`new ${name}`),
  });
}

/** The top-level names of the VS Code API, read from @types/vscode. */
function apiNames() {
  const dts = readFileSync(require.resolve('@types/vscode/index.d.ts'), 'utf8');
  const names = new Set();
  for (const m of dts.matchAll(/^\s+export (?:namespace|class|enum|const|function|let) ([A-Za-z_]\w*)/gm))
    names.add(m[1]);
  return [...names];
}

function installVscodeStandIn() {
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) {
    return request === 'vscode' ? 'vscode' : resolve.call(this, request, ...rest);
  };
  // Like VS Code's own API object the root is a plain object: esbuild's interop copies its keys once per importing
  // module, which a Proxy root makes several times slower than in VS Code. Each member is a stand-in made on first read.
  const api = {};
  for (const name of apiNames()) {
    let value;
    Object.defineProperty(api, name, {
      enumerable: true,
      configurable: true,
      get: () => (value ??= standIn(`vscode.${name}`)),
      set: (v) => {
        value = v;
      },
    });
  }
  require.cache.vscode = { id: 'vscode', filename: 'vscode', loaded: true, exports: api };
}

module.exports = { installVscodeStandIn };
