// sandpiper.yaml is a workspace file anyone may commit: hostile or huge input gives located problems, never an
// exception, paths stay inside its folder, thresholds are numbers, and loading time grows linearly.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  formatProblem,
  loadConfig,
  MAX_CONFIG_BYTES,
  parseConfig,
  type ConfigResult,
} from '../../../src/core/config/loader';
import { parseThreshold } from '../../../src/core/config/resolve';

function problems(r: ConfigResult): string[] {
  assert.ok(!r.ok, 'expected problems');
  return r.problems.map((p) => formatProblem('sandpiper.yaml', p));
}

describe('sandpiper.yaml: hostile input', () => {
  it('an alias bomb is a located problem, not an exception', () => {
    const bomb = [
      'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
      'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
      'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
      'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
      'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
      'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
      'services: { x: { manifests: k8s/ } }',
    ].join('\n');
    let result: ConfigResult | undefined;
    assert.doesNotThrow(() => (result = parseConfig(bomb, '/ws')));
    const [line] = problems(result!);
    assert.match(line, /^sandpiper\.yaml:2:8: aliases expand too far \(.*\); write the values out instead$/);
  });

  it('a few aliases are still fine', () => {
    const r = parseConfig(
      'services:\n  a: { manifests: &m k8s/, sync: { paths: &p [src/], target: /app } }\n  b: { manifests: *m, sync: { paths: *p, target: /app } }\n',
      '/ws',
    );
    assert.ok(r.ok, JSON.stringify(!r.ok && r.problems));
    assert.deepEqual(r.config.services.b.manifests, ['k8s/']);
  });

  it('refuses a file past the size limit, in the editor and from disk', async () => {
    const big = `# ${'x'.repeat(MAX_CONFIG_BYTES)}\nservices: { x: { manifests: k8s/ } }\n`;
    assert.match(
      problems(parseConfig(big, '/ws'))[0],
      /^sandpiper\.yaml:1:1: sandpiper\.yaml is 4\.0 MB; more than 4 MB is not read$/,
    );
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandpiper-config-'));
    try {
      fs.writeFileSync(path.join(dir, 'sandpiper.yaml'), big);
      await assert.rejects(
        loadConfig(dir),
        (e: Error & { code?: string }) => e.code === 'config-invalid' && /more than 4 MB is not read/.test(e.message),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('still reports a repeated key, at the repeat', () => {
    assert.deepEqual(
      problems(parseConfig('services:\n  a: { manifests: k8s/ }\n  a: { manifests: other/ }\n', '/ws')),
      ['sandpiper.yaml:3:3: Map keys must be unique'],
    );
  });
});

describe('sandpiper.yaml: manifests and sync paths stay inside its folder', () => {
  it('refuses absolute paths elsewhere and paths that climb out, each located', () => {
    const text = `services:
  api:
    manifests: ../../etc
    sync: { paths: [src/, /etc/ssh, ./../x], target: /app }
  web:
    manifests: [k8s/, /etc/kubernetes, sub/../../up]
`;
    assert.deepEqual(problems(parseConfig(text, '/ws')), [
      'sandpiper.yaml:3:16: services.api.manifests: "../../etc" leads outside the folder of sandpiper.yaml; manifests and sync paths must stay inside it',
      'sandpiper.yaml:4:27: services.api.sync.paths.1: "/etc/ssh" leads outside the folder of sandpiper.yaml; manifests and sync paths must stay inside it',
      'sandpiper.yaml:4:37: services.api.sync.paths.2: "./../x" leads outside the folder of sandpiper.yaml; manifests and sync paths must stay inside it',
      'sandpiper.yaml:6:23: services.web.manifests.1: "/etc/kubernetes" leads outside the folder of sandpiper.yaml; manifests and sync paths must stay inside it',
      'sandpiper.yaml:6:40: services.web.manifests.2: "sub/../../up" leads outside the folder of sandpiper.yaml; manifests and sync paths must stay inside it',
    ]);
  });

  it('accepts paths inside, including absolute ones under the folder and names starting with ..', () => {
    const r = parseConfig(
      'services:\n  api:\n    manifests: [/ws/k8s, ..deploy/, k8s/../k8s]\n    sync: { paths: [., src/], target: /app }\n',
      '/ws',
    );
    assert.ok(r.ok, JSON.stringify(!r.ok && r.problems));
  });

  it('refuses a path that leaves through a symbolic link (also below a link, and not yet existing)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandpiper-config-'));
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'sandpiper-outside-'));
    try {
      fs.mkdirSync(path.join(dir, 'deploy'));
      fs.symlinkSync(path.join(dir, 'deploy'), path.join(dir, 'k8s'));
      fs.symlinkSync(outside, path.join(dir, 'src'));
      fs.writeFileSync(
        path.join(dir, 'sandpiper.yaml'),
        'services:\n  api:\n    manifests: k8s/\n    sync: { paths: [src/, src/not-yet/], target: /app }\n',
      );
      await assert.rejects(loadConfig(dir), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'config-invalid');
        const real = fs.realpathSync(outside);
        assert.ok(
          e.message.includes(
            `sandpiper.yaml:4:21: services.api.sync.paths.0: "src/" leads outside the folder of sandpiper.yaml (through a symbolic link, to ${real})`,
          ),
          e.message,
        );
        assert.ok(e.message.includes(`services.api.sync.paths.1: "src/not-yet/" leads outside`), e.message);
        assert.ok(!e.message.includes('services.api.manifests'), 'k8s -> deploy stays inside');
        return true;
      });
      fs.writeFileSync(path.join(dir, 'sandpiper.yaml'), 'services:\n  api:\n    manifests: k8s/\n');
      assert.deepEqual((await loadConfig(dir)).services.api.manifests, ['k8s/']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });
});

describe('sandpiper.yaml: numeric thresholds', () => {
  it('refuses a threshold that is not a number, located, through the schema', () => {
    const text = `services:
  api:
    manifests: k8s/
    canary: { analysis: { successRate: ">= 1.2.3", p99LatencyMs: "<= .", queries: [{ name: q, query: up, threshold: "> 1e3" }] } }
`;
    assert.deepEqual(problems(parseConfig(text, '/ws')), [
      'sandpiper.yaml:4:40: services.api.canary.analysis.successRate: ">= 1.2.3" is not a threshold (a comparison and a number, e.g. ">= 0.99" or "<= 300")',
      'sandpiper.yaml:4:66: services.api.canary.analysis.p99LatencyMs: "<= ." is not a threshold (a comparison and a number, e.g. ">= 0.99" or "<= 300")',
      'sandpiper.yaml:4:117: services.api.canary.analysis.queries.0.threshold: "> 1e3" is not a threshold (a comparison and a number, e.g. ">= 0.99" or "<= 300")',
    ]);
  });

  it('parseThreshold never returns NaN', () => {
    assert.deepEqual(parseThreshold('>= 0.99'), { op: '>=', value: 0.99 });
    assert.deepEqual(parseThreshold('<=300'), { op: '<=', value: 300 });
    for (const bad of ['>= 1.2.3', '< .', '> ..', '>= '])
      assert.throws(() => parseThreshold(bad), { code: 'config-invalid' }, bad);
  });
});

describe('sandpiper.yaml: loading time', function () {
  this.timeout(120_000);

  it('grows linearly with the number of services (4x the services, well under 8x the CPU time)', () => {
    const probe = path.join(__dirname, 'loadTimeProbe.ts');
    const ratio = Number(execFileSync(process.execPath, ['--import', 'tsx', probe], { encoding: 'utf8' }));
    // Linear: about 4 (measured 3.9); the old per-key uniqueness check made it about 14.
    assert.ok(ratio < 8, `16,000 services took ${ratio.toFixed(1)}x the CPU time of 4,000`);
  });
});
