// Open in Browser, the Environments view's context and the CLI on the terminal's PATH, in code-server's
// extension host against the testbed's real node.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { applyObject } from '../../src/core/env/deploy';
import { deleteEnvironment } from '../../src/core/env/lifecycle';
import { environmentName } from '../../src/core/env/naming';
import { namespaceObject } from '../../src/core/env/plan';
import { loadKube } from '../../src/core/infra/kube/client';
import { isPodReady } from '../../src/core/infra/kube/pods';
import type { SandpiperApi } from '../../src/extension';
import { listening } from '../support/net';
import { eventually } from '../support/wait';

const HTTPD = [
  'sh',
  '-c',
  "mkdir -p /www && echo $HOSTNAME > /www/index.html && trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait",
];

describe('Open in Browser (extension host)', function () {
  this.timeout(180_000);
  const branch = `open-${Math.random().toString(36).slice(2, 7)}`;
  const name = environmentName('exthost@example.com', branch);
  const haveCluster = Boolean(process.env.KUBECONFIG);
  let api: SandpiperApi;
  let pod = '';

  before(async function () {
    const ext = vscode.extensions.getExtension<SandpiperApi>('sandpiper.sandpiper')!;
    api = await ext.activate();
    if (!haveCluster) return;
    const kube = loadKube();
    await applyObject(
      kube,
      namespaceObject({
        namespace: name,
        owner: 'exthost@example.com',
        branch,
        service: 'web',
        baseline: 'staging',
        clusterDomain: 'cluster.local',
        ttlMs: 3_600_000,
        now: new Date(),
        modes: {},
      }),
    );
    const labels = { app: 'web' };
    await kube.apps.createNamespacedDeployment({
      namespace: name,
      body: {
        metadata: { name: 'web', labels },
        spec: {
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              terminationGracePeriodSeconds: 1,
              containers: [
                {
                  name: 'web',
                  image: 'sandpiper/busybox:latest',
                  imagePullPolicy: 'IfNotPresent',
                  command: HTTPD,
                  ports: [{ name: 'http', containerPort: 8080 }],
                  readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 },
                },
              ],
            },
          },
        },
      },
    });
    pod = await eventually(
      'a Ready pod of web',
      async () =>
        (await kube.core.listNamespacedPod({ namespace: name, labelSelector: 'app=web' })).items.find(isPodReady)
          ?.metadata?.name,
      120_000,
    );
  });

  after(async () => {
    if (haveCluster) await deleteEnvironment(loadKube(), name).catch(() => undefined);
  });

  let opened = '';

  it("returns an external URI that serves the environment's service, and reuses the forward", async function () {
    if (!haveCluster) this.skip();
    opened = (await vscode.commands.executeCommand('sandpiper.openInBrowser', { env: name })) as string;
    assert.equal(typeof opened, 'string', 'the command returns the URI it opened');
    const res = await fetch(opened);
    assert.equal(res.status, 200, `GET ${opened}`);
    assert.equal((await res.text()).trim(), pod, "the container's httpd answers with its pod's name");
    // The Environments view's service row opens the same forward.
    const row = { kind: 'part', env: { name, dependencies: {} }, label: 'web', description: 'service' };
    assert.equal(await vscode.commands.executeCommand('sandpiper.openInBrowser', row), opened);
  });

  it("shows the Kubernetes context in the Environments view's title", async function () {
    if (!haveCluster) this.skip();
    await vscode.commands.executeCommand('sandpiper.env.refresh');
    assert.equal(api.viewDescription('sandpiper.environments'), loadKube().contextName);
  });

  it('stops the forward once the environment is deleted', async function () {
    if (!haveCluster || !opened) this.skip();
    await deleteEnvironment(loadKube(), name);
    await eventually(
      'the environment gone from the view',
      async () => {
        const envs = (await vscode.commands.executeCommand('sandpiper.env.refresh')) as Array<{ name: string }>;
        return !envs.some((e) => e.name === name);
      },
      120_000,
    );
    // code-server's /proxy/<port>/ (or the forward itself): either way the local port must be closed.
    const port = Number(/\/proxy\/(\d+)\//.exec(opened)?.[1] ?? new URL(opened).port);
    await eventually('the forward closed', async () => !(await listening(port)), 10_000);
    assert.notEqual((await fetch(opened).catch(() => undefined))?.status ?? 0, 200);
  });

  it("puts the sandpiper CLI on the integrated terminal's PATH", async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sp-term-')), 'out.txt');
    const terminal = vscode.window.createTerminal({
      name: 'sandpiper PATH',
      shellPath: '/bin/sh',
      shellArgs: ['-c', `{ command -v sandpiper; sandpiper --version; } > '${out}' 2>&1`],
    });
    try {
      const text = await eventually(
        'the terminal ran sandpiper',
        async () =>
          fs.existsSync(out) && /\d+\.\d+\.\d+/.test(fs.readFileSync(out, 'utf8'))
            ? fs.readFileSync(out, 'utf8')
            : undefined,
        30_000,
      );
      const [where, version] = text.trim().split('\n');
      assert.match(where, /\/bin\/sandpiper$/, text);
      const pkg = vscode.extensions.getExtension('sandpiper.sandpiper')!.packageJSON as { version: string };
      assert.equal(version, pkg.version);
    } finally {
      terminal.dispose();
    }
  });
});
