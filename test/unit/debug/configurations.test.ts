import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { parseConfig } from '../../../src/core/config/loader';
import type { SandpiperConfig } from '../../../src/core/config/types';
import {
  FORWARD_KEY,
  debugTargetOf,
  dynamicConfigurations,
  listedConfigurations,
  namedService,
  nodeConfiguration,
  pythonConfiguration,
} from '../../../src/features/debug/configurations';

const ROOT = path.resolve('/ws');

function config(text: string): SandpiperConfig {
  const r = parseConfig(text, ROOT);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.problems));
  return r.config;
}

const WORKSPACE = config(`services:
  hello:
    manifests: hello/k8s/
    debug: { runtime: node, port: 9229, remoteRoot: /app, localRoot: hello }
  api:
    manifests: api/k8s/
    debug: { runtime: python, remoteRoot: /srv }
  worker:
    manifests: worker/k8s/
`);

describe('debug configurations', () => {
  it('resolves a node service to a js-debug attach on the forward, with source maps and restart', () => {
    const target = debugTargetOf(WORKSPACE, WORKSPACE.services.hello, { service: 'hello', env: 'dev-1' });
    assert.deepEqual(target, {
      service: 'hello',
      runtime: 'node',
      port: 9229,
      localRoot: path.join(ROOT, 'hello'),
      remoteRoot: '/app',
    });
    const attach = nodeConfiguration(target, 'dev-1', 40123, undefined, 'f-1');
    assert.deepEqual(attach, {
      type: 'node',
      request: 'attach',
      name: 'Sandpiper: hello (dev-1)',
      address: '127.0.0.1',
      port: 40123,
      localRoot: path.join(ROOT, 'hello'),
      remoteRoot: '/app',
      sourceMaps: true,
      restart: true,
      skipFiles: ['<node_internals>/**'],
      outFiles: [`${path.join(ROOT, 'hello')}/**/*.(m|c|)js`, '!**/node_modules/**'],
      resolveSourceMapLocations: [`${path.join(ROOT, 'hello')}/**`, '!**/node_modules/**'],
      [FORWARD_KEY]: 'f-1',
    });
    assert.equal(nodeConfiguration(target, 'dev-1', 1, 'Mine', 'f').name, 'Mine');
  });

  it("lets launch.json override the port and the roots (localRoot relative to sandpiper.yaml's folder)", () => {
    const target = debugTargetOf(WORKSPACE, WORKSPACE.services.hello, {
      port: 9230,
      localRoot: 'packages/hello',
      remoteRoot: '/srv/hello',
    });
    assert.equal(target.port, 9230);
    assert.equal(target.localRoot, path.join(ROOT, 'packages', 'hello'));
    assert.equal(target.remoteRoot, '/srv/hello');
  });

  it('keeps python on the sandpiper type (the debugpy relay) with its path mapping', () => {
    const target = debugTargetOf(WORKSPACE, WORKSPACE.services.api, {});
    const c = pythonConfiguration({ service: 'api' }, target, 'dev-2');
    assert.equal(c.type, 'sandpiper');
    assert.equal(c.env, 'dev-2');
    assert.equal(c.port, 5678);
    assert.deepEqual(c.pathMappings, [{ localRoot: ROOT, remoteRoot: '/srv' }]);
  });

  it('names what is missing: an unknown service, a service without a debug section', () => {
    assert.equal(namedService(WORKSPACE, {}), undefined);
    assert.throws(
      () => namedService(WORKSPACE, { service: 'nope' }),
      /no service "nope" \(it has: hello, api, worker\)/,
    );
    assert.throws(
      () => debugTargetOf(WORKSPACE, WORKSPACE.services.worker, { service: 'worker' }),
      (e: Error & { code?: string }) => e.code === 'no-debug-config' && /"worker" has no debug section/.test(e.message),
    );
  });

  it('lists one configuration per service with a debug section, in the given environment or asked later', () => {
    assert.deepEqual(listedConfigurations(WORKSPACE, 'dev-1'), [
      { type: 'sandpiper', request: 'attach', name: 'Sandpiper: hello in dev-1', service: 'hello', env: 'dev-1' },
      { type: 'sandpiper', request: 'attach', name: 'Sandpiper: api in dev-1', service: 'api', env: 'dev-1' },
    ]);
    assert.deepEqual(
      listedConfigurations(WORKSPACE).map((c) => [c.name, 'env' in c]),
      [
        ['Sandpiper: hello', false],
        ['Sandpiper: api', false],
      ],
    );
  });

  it('gives the dynamic list once: for the folder of sandpiper.yaml, not again with no folder (user settings)', () => {
    // VS Code asks each workspace folder, then the workspace file and user settings with no folder.
    const asked = (folders: string[]) =>
      [...folders, undefined].flatMap((f) => dynamicConfigurations(WORKSPACE, f, folders, 'dev-1').map((c) => c.name));
    assert.deepEqual(asked([ROOT]), ['Sandpiper: hello in dev-1', 'Sandpiper: api in dev-1']);
    // Multi-root: another folder gets none; nested folders, only the innermost holding sandpiper.yaml.
    const other = path.resolve('/elsewhere');
    assert.deepEqual(dynamicConfigurations(WORKSPACE, other, [other, ROOT]), []);
    assert.equal(dynamicConfigurations(WORKSPACE, ROOT, [other, ROOT]).length, 2);
    const outer = path.dirname(ROOT);
    assert.deepEqual(asked([outer, ROOT]), ['Sandpiper: hello in dev-1', 'Sandpiper: api in dev-1']);
    assert.deepEqual(dynamicConfigurations(WORKSPACE, outer, [outer, ROOT]), []);
    // A sibling whose name starts like the root does not hold it.
    assert.deepEqual(dynamicConfigurations(WORKSPACE, `${ROOT}-b`, [`${ROOT}-b`]), []);
  });
});
