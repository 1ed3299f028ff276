// The trust suite (test/exthost/trust.exthost.ts) in a code-server that keeps Workspace Trust on: the sample folder
// opens untrusted, in Restricted Mode, and Sandpiper must still check sandpiper.yaml but refuse cluster actions.
import { strict as assert } from 'node:assert';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from './support/codeServer';
import { runExtensionHostTests } from './support/exthost';

describe('extension host in an untrusted workspace (code-server, Restricted Mode)', () => {
  it('passes the workspace trust suite', async function () {
    this.timeout(300_000);
    const root = repoRoot();
    const extensionPath = process.env.SANDPIPER_EXTENSION_PATH ?? root;
    const workspace = await mkdtemp(path.join(os.tmpdir(), 'sandpiper-untrusted-ws-'));
    await cp(path.join(root, 'test', 'fixtures', 'workspaces', 'ts-service'), workspace, { recursive: true });
    try {
      const result = await runExtensionHostTests({
        extensionPath,
        testsPath: path.join(extensionPath, 'out', 'exthost', 'index.js'),
        workspace,
        workspaceTrust: true,
        env: { SANDPIPER_EXTHOST_GREP: 'workspace trust: Restricted Mode' },
        timeoutMs: 240_000,
      });
      assert.equal(result.exitCode, 0, `the trust suite failed:\n${result.output.slice(-8000)}`);
      // The suite exists only when the folder really is untrusted: it must have run, all of it.
      assert.match(result.output, /5 passing/, result.output.slice(-4000));
    } finally {
      await rm(workspace, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    }
  });
});
