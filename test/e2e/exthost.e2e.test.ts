// Runs every test/exthost/**/*.exthost.ts suite (bundled into out/exthost/suite.js by `scripts/build.mjs --tests`)
// inside the real extension host of code-server, with Sandpiper loaded from this folder.
import { strict as assert } from 'node:assert';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from './support/codeServer';
import { runExtensionHostTests } from './support/exthost';

describe('extension host suite (code-server)', () => {
  it('passes inside the real extension host', async function () {
    this.timeout(600_000);
    const root = repoRoot();
    // A copy of the sample workspace (the Todo monorepo), so tests that edit files leave the repository as it was;
    // its installed packages are not copied (a suite that builds the example links them).
    const workspace = await mkdtemp(path.join(os.tmpdir(), 'sandpiper-exthost-ws-'));
    const example = path.join(root, 'examples', 'todo');
    await cp(example, workspace, {
      recursive: true,
      filter: (src) => path.relative(example, src).split(path.sep)[0] !== 'node_modules',
    });
    try {
      const env: Record<string, string> = {};
      for (const key of ['KUBECONFIG', 'DOCKER_HOST', 'SANDPIPER_REGISTRY', 'PROMETHEUS_URL', 'PATH']) {
        if (process.env[key]) env[key] = process.env[key] as string;
      }
      const result = await runExtensionHostTests({
        extensionPath: root,
        testsPath: path.join(root, 'out', 'exthost', 'index.js'),
        workspace,
        env,
        // Open in Browser's URI (asExternalUri) is code-server's /proxy/<port>/: fetched through it.
        proxy: true,
        timeoutMs: 540_000,
      });
      const report = result.output
        .split('\n')
        .filter((l) => /passing|failing|pending|✔|✓|\d+\) |Error|at .*exthost/.test(l))
        .join('\n');
      console.log(report.replace(/^/gm, '      | '));
      assert.equal(result.exitCode, 0, `extension-host tests failed:\n${result.output.slice(-8000)}`);
    } finally {
      await rm(workspace, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    }
  });
});
