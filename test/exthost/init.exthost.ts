import { strict as assert } from 'node:assert';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { loadConfig } from '../../src/core/config/loader';

// A service folder as a new user has it: a Dockerfile and manifests, no sandpiper.yaml.
const SAMPLE: Record<string, string> = {
  'package.json': '{ "name": "hello", "private": true }\n',
  'tsconfig.json':
    '{\n  // comments are allowed here\n  "compilerOptions": { "outDir": "dist", "sourceMap": true },\n}\n',
  Dockerfile:
    'FROM node:20-slim\nWORKDIR /app\nCOPY dist/ ./dist/\nEXPOSE 8080\n' +
    'CMD ["node", "--inspect=0.0.0.0:9229", "--enable-source-maps", "--watch", "dist/server.js"]\n',
  '.gitignore': 'node_modules\ndist\n',
  'k8s/app.yaml': `apiVersion: apps/v1
kind: Deployment
metadata: { name: hello }
spec:
  selector: { matchLabels: { app: hello } }
  template:
    metadata: { labels: { app: hello } }
    spec: { containers: [{ name: hello, image: hello:1, ports: [{ name: http, containerPort: 8080 }] }] }
---
apiVersion: v1
kind: Service
metadata: { name: hello }
spec: { selector: { app: hello }, ports: [{ port: 80, targetPort: http }] }
`,
};

async function sampleFolder(): Promise<vscode.Uri> {
  const ws = vscode.workspace.workspaceFolders?.[0];
  assert.ok(ws, 'a workspace folder is open');
  // Inside the workspace, as Initialize's folder would be; removed after the test.
  const dir = path.join(ws.uri.fsPath, `init-sample-${Date.now()}`);
  for (const [name, text] of Object.entries(SAMPLE)) {
    await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await fs.writeFile(path.join(dir, name), text);
  }
  return vscode.Uri.file(dir);
}

async function settledDiagnostics(uri: vscode.Uri): Promise<readonly vscode.Diagnostic[]> {
  // The check runs on open (the parser loads with the first file); give it time to report anything.
  await new Promise((r) => setTimeout(r, 1500));
  return vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'sandpiper');
}

describe('Initialize (sandpiper.init)', () => {
  let folder: vscode.Uri;

  before(async () => {
    await vscode.extensions.getExtension('sandpiper.sandpiper')?.activate();
    folder = await sampleFolder();
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await fs.rm(folder.fsPath, { recursive: true, force: true });
  });

  it('writes a valid, commented sandpiper.yaml into the folder and opens it', async () => {
    const written = await vscode.commands.executeCommand<string | undefined>('sandpiper.init', folder);
    const file = path.join(folder.fsPath, 'sandpiper.yaml');
    assert.equal(written, file);
    const text = await fs.readFile(file, 'utf8');
    assert.match(text, /^# /m);
    assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, file, 'the new file is open');
    assert.deepEqual(await settledDiagnostics(vscode.Uri.file(file)), [], 'the editor finds nothing wrong with it');

    const hello = (await loadConfig(folder.fsPath)).services.hello;
    assert.equal(hello.port, 8080);
    assert.deepEqual(hello.image?.build, { context: '.', dockerfile: 'Dockerfile', name: undefined });
    assert.deepEqual(hello.debug, { runtime: 'node', port: 9229, remoteRoot: '/app', localRoot: undefined });
    assert.deepEqual(hello.sync?.paths, ['dist/']);
    assert.equal(hello.sync?.target, '/app/dist');
  });

  it('leaves an existing sandpiper.yaml as it is', async () => {
    const file = path.join(folder.fsPath, 'sandpiper.yaml');
    await fs.writeFile(file, '# edited by hand\nservices: { hello: { manifests: k8s/ } }\n');
    const written = await vscode.commands.executeCommand<string | undefined>('sandpiper.init', folder);
    assert.equal(written, undefined);
    assert.equal(await fs.readFile(file, 'utf8'), '# edited by hand\nservices: { hello: { manifests: k8s/ } }\n');
  });
});

describe('settings scopes', () => {
  const file = () => path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, '.vscode', 'settings.json');
  let before: string | undefined;

  after(async () => {
    if (before === undefined) await fs.rm(file(), { force: true });
    else await fs.writeFile(file(), before);
  });

  it('reads kubeconfig, github.baseUrl and prometheusUrl from user settings only, never from the workspace', async () => {
    before = await fs.readFile(file(), 'utf8').catch(() => undefined);
    await fs.mkdir(path.dirname(file()), { recursive: true });
    await fs.writeFile(
      file(),
      JSON.stringify({
        'sandpiper.kubeconfig': '/tmp/planted-kubeconfig',
        'sandpiper.prometheusUrl': 'http://planted.example',
        'sandpiper.github.baseUrl': 'https://planted.example/api/v3',
        'sandpiper.expiryWarning': '20m',
      }),
    );
    const config = () => vscode.workspace.getConfiguration('sandpiper');
    // The window-scoped setting shows that the file was read; the machine-scoped ones must not follow it.
    for (let i = 0; i < 50 && config().get('expiryWarning') !== '20m'; i++)
      await new Promise((r) => setTimeout(r, 100));
    assert.equal(config().get('expiryWarning'), '20m');
    assert.equal(config().get('kubeconfig'), '');
    assert.equal(config().get('prometheusUrl'), '');
    assert.equal(config().get('github.baseUrl'), '');
  });
});
