import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ServiceConfig, SyncConfig } from '../../../src/core/config/types';
import { SyncPathMapper } from '../../../src/core/sync/syncPaths';
import { RebuildTrigger } from '../../../src/core/sync/redeploy';
import { assertSafeRelative, buildSyncArchive, TAR_RECORD } from '../../../src/core/infra/tar';

const sync = (over: Partial<SyncConfig> = {}): SyncConfig => ({
  paths: ['src/'],
  target: '/app/src',
  exclude: ['**/*.test.js'],
  rebuildOn: ['config/*.json'],
  auto: true,
  debounceMs: 50,
  reload: { kind: 'none' },
  ...over,
});

describe('SyncPathMapper', () => {
  let root: string;
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-map-'));
    for (const f of [
      'src/index.js',
      'src/lib/a.js',
      'src/lib/a.test.js',
      'src/build/out.js',
      'src/.env',
      'README.md',
      'Dockerfile',
    ]) {
      fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
      fs.writeFileSync(path.join(root, f), f);
    }
    fs.writeFileSync(path.join(root, '.gitignore'), 'build/\n.env\n');
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('maps files inside a sync folder to target-relative paths, and nothing else', () => {
    const m = new SyncPathMapper(root, sync());
    assert.equal(m.toRemote(path.join(root, 'src/lib/a.js')), 'lib/a.js');
    assert.equal(m.toRemote(path.join(root, 'README.md')), undefined);
    assert.equal(m.toRemote(path.join(root, 'src')), undefined);
    assert.equal(m.toRemote(path.join(root, 'srcx/a.js')), undefined);
  });

  it('maps a single-file sync path to target/<name>', () => {
    const m = new SyncPathMapper(root, sync({ paths: ['README.md'] }));
    assert.equal(m.toRemote(path.join(root, 'README.md')), 'README.md');
  });

  it('honours .gitignore (files and folders) and sync.exclude', () => {
    const m = new SyncPathMapper(root, sync());
    assert.equal(m.isExcluded(path.join(root, 'src/lib/a.test.js')), true);
    assert.equal(m.isExcluded(path.join(root, 'src/build/out.js')), true);
    assert.equal(m.isExcluded(path.join(root, 'src/.env')), true);
    assert.equal(m.isExcluded(path.join(root, 'src/lib/a.js')), false);
    assert.deepEqual(
      m
        .listLocalFiles()
        .map((f) => f.remote)
        .sort(),
      ['index.js', 'lib/a.js'],
    );
  });
});

describe('RebuildTrigger', () => {
  const service = (image?: ServiceConfig['image']): ServiceConfig => ({
    name: 'tasks',
    manifests: ['k8s/'],
    image,
    sync: sync(),
    dependencies: {},
  });
  it('fires for the Dockerfile, root lockfiles and rebuildOn globs of a built image', () => {
    const t = new RebuildTrigger('/w', service({ build: { context: '.', dockerfile: 'Dockerfile' } }));
    assert.equal(t.matches('/w/Dockerfile'), true);
    assert.equal(t.matches('/w/package-lock.json'), true);
    assert.equal(t.matches('/w/config/app.json'), true);
    assert.equal(t.matches('/w/docs/package-lock.json'), false);
    assert.equal(t.matches('/w/README.md'), false);
  });
  it('cannot rebuild a fixed image', () => {
    const t = new RebuildTrigger('/w', service({ ref: 'nginx:1' }));
    assert.equal(t.canRebuild, false);
    assert.equal(t.matches('/w/Dockerfile'), false);
  });
});

describe('sync archive', () => {
  it('refuses paths that would escape the target', () => {
    for (const bad of ['../x', 'a/../../x', '/etc/passwd', '', 'a//b', './a', 'C:/x']) {
      assert.throws(() => assertSafeRelative(bad), /escape the sync target/, bad);
    }
    // A name the container's lists cannot carry is refused for that, not for escaping.
    assert.throws(() => assertSafeRelative('a\nb'), /"a\?b": its name has a control character/);
    assert.equal(assertSafeRelative('a/b.c'), 'a/b.c');
  });
  it('pads to whole tar records and refuses a bad entry while building', async () => {
    const tar = await buildSyncArchive(
      [{ path: 'a.txt', content: Buffer.alloc(20000, 1), mode: 0o644, mtime: new Date() }],
      [],
    );
    assert.equal(tar.length % TAR_RECORD, 0);
    await assert.rejects(
      buildSyncArchive([{ path: '../a', content: Buffer.from(''), mode: 0o644, mtime: new Date() }], []),
      /escape/,
    );
    await assert.rejects(buildSyncArchive([], ['/abs']), /escape/);
  });
});
