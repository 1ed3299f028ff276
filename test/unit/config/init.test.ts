import { strict as assert } from 'node:assert';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { initConfig } from '../../../src/core/config/init';
import { parseDockerfile, scriptDir } from '../../../src/core/config/initDetect';
import { loadConfig } from '../../../src/core/config/loader';
import { SandpiperError } from '../../../src/core/errors';
import { SyncPathMapper } from '../../../src/core/sync/syncPaths';

const ROOT = path.join(__dirname, '..', '..', '..');
const TS_SERVICE = path.join(ROOT, 'test', 'fixtures', 'workspaces', 'ts-service');
const TODO = path.join(ROOT, 'examples', 'todo');

const temps: string[] = [];
async function folder(files: Record<string, string> = {}, copyOf?: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sandpiper-init-'));
  temps.push(dir);
  if (copyOf) await fs.cp(copyOf, dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await fs.writeFile(path.join(dir, name), text);
  }
  return dir;
}

const deployment = (name: string, extra = '') => `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name} }
spec:
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      containers:
        - name: ${name}
          image: ${name}:1
${extra}`;

const service = (name: string) => `apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec: { selector: { app: ${name} }, ports: [{ port: 80, targetPort: 8080 }] }
`;

async function rejectsWith(p: Promise<unknown>, code: string): Promise<SandpiperError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof SandpiperError, String(err));
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected a ${code} error`);
}

describe('Initialize (sandpiper.yaml from a folder)', () => {
  after(async () => {
    await Promise.all(temps.map((d) => fs.rm(d, { recursive: true, force: true })));
  });

  it('the TypeScript sample: node debug on 9229 under /app, dist/ synced to /app/dist, port 8080, built image', async () => {
    const dir = await folder({}, TS_SERVICE);
    const result = await initConfig(dir);
    assert.equal(result.written, true);
    assert.deepEqual(result.services, ['hello']);
    const text = await fs.readFile(path.join(dir, 'sandpiper.yaml'), 'utf8');
    assert.equal(text, result.text);
    assert.match(text, /^# /m, 'the file is commented');
    assert.match(text, /# .*Dockerfile/, 'the comments say where values came from');

    const config = await loadConfig(dir);
    const hello = config.services.hello;
    assert.deepEqual(hello.manifests, ['k8s/']);
    assert.deepEqual(hello.image, { build: { context: '.', dockerfile: 'Dockerfile', name: undefined } });
    assert.equal(hello.port, 8080);
    assert.deepEqual(hello.debug, { runtime: 'node', port: 9229, remoteRoot: '/app', localRoot: undefined });
    assert.deepEqual(hello.sync?.paths, ['dist/']);
    assert.equal(hello.sync?.target, '/app/dist');
    assert.ok(hello.sync?.rebuildOn.includes('Dockerfile'));
    assert.deepEqual(hello.canary?.steps, [10, 25, 50, 100]);

    // dist/ is git-ignored (build output) and must travel all the same; node_modules must not.
    await fs.mkdir(path.join(dir, 'dist'), { recursive: true });
    await fs.writeFile(path.join(dir, 'dist', 'server.js'), '');
    await fs.mkdir(path.join(dir, 'dist', 'node_modules'), { recursive: true });
    await fs.writeFile(path.join(dir, 'dist', 'node_modules', 'x.js'), '');
    const mapper = new SyncPathMapper(dir, hello.sync!);
    assert.deepEqual(
      mapper.listLocalFiles().map((f) => f.remote),
      ['server.js'],
    );
  });

  it('a service folder of the Todo monorepo without its sandpiper.yaml: k8s/, the bundle the container runs synced', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sp-init-todo-'));
    // The whole monorepo (its tsconfig is a folder above the service), without installed packages or bundles.
    await fs.cp(TODO, dir, {
      recursive: true,
      filter: (src) => !['node_modules', 'dist'].includes(path.basename(src)),
    });
    const tasksDir = path.join(dir, 'tasks');
    await fs.rm(path.join(tasksDir, 'sandpiper.yaml'));
    await initConfig(tasksDir);
    const config = await loadConfig(tasksDir);
    assert.deepEqual(Object.keys(config.services), ['tasks']);
    const tasks = config.services.tasks;
    assert.deepEqual(tasks.manifests, ['k8s/']);
    assert.equal(tasks.port, 8080);
    assert.deepEqual(tasks.debug, { runtime: 'node', port: 9229, remoteRoot: '/app', localRoot: undefined });
    // `node --watch dist/server.js`: the esbuild bundle in dist/ is what runs, so that is what is synced.
    assert.deepEqual(tasks.sync?.paths, ['dist/']);
    assert.equal(tasks.sync?.target, '/app/dist');
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('reads the folder of the script a node command runs', () => {
    assert.equal(scriptDir('node --enable-source-maps --inspect=0.0.0.0:9229 --watch dist/server.js'), 'dist');
    assert.equal(scriptDir('node ./build/out/main.mjs --port 8080'), 'build');
    assert.equal(scriptDir('node server.js'), undefined);
    assert.equal(scriptDir('python3 -m app dist/x.js'), undefined);
  });

  it('a Python service: debugpy runtime and port, the first of two containers, .gitignore as sync.exclude', async () => {
    const dir = await folder({
      'requirements.txt': 'flask\ndebugpy\n',
      'app.py': 'print("hi")\n',
      '.gitignore': '# caches\n__pycache__/\n*.pyc\n!keep.pyc\n',
      Dockerfile:
        'FROM python:3.11-slim\nWORKDIR /srv\nCOPY . .\nEXPOSE 5000\n' +
        'CMD python -m debugpy --listen 0.0.0.0:5679 \\\n  -m flask run --port 5000\n',
      'deploy/app.yaml': `${deployment('api', '          ports: [{ containerPort: 5000 }]\n        - name: proxy\n          image: envoy\n')}---\n${service('api')}`,
    });
    await initConfig(dir);
    const api = (await loadConfig(dir)).services.api;
    assert.deepEqual(api.debug, { runtime: 'python', port: 5679, remoteRoot: '/srv', localRoot: undefined });
    assert.equal(api.container, 'api');
    assert.equal(api.port, 5000);
    assert.deepEqual(api.sync?.paths, ['.']);
    assert.equal(api.sync?.target, '/srv');
    assert.deepEqual(api.sync?.exclude, ['__pycache__/', '*.pyc']);
    assert.deepEqual(api.sync?.rebuildOn, ['Dockerfile', 'requirements.txt']);
  });

  it('Python without a debugpy flag gets port 5678; with no Dockerfile, no image build', async () => {
    const dir = await folder({ 'pyproject.toml': '[project]\nname = "x"\n', 'k8s/app.yaml': deployment('worker') });
    await initConfig(dir);
    const worker = (await loadConfig(dir)).services.worker;
    assert.equal(worker.debug?.runtime, 'python');
    assert.equal(worker.debug?.port, 5678);
    assert.equal(worker.image, undefined);
  });

  it('two workloads in one folder: one service each, listing their own files', async () => {
    const dir = await folder({
      'package.json': '{}',
      Dockerfile: 'FROM node:20\nEXPOSE 3000\nCMD ["node", "--inspect", "index.js"]\n',
      'k8s/web.yaml': `${deployment('web')}---\n${service('web')}`,
      'k8s/worker.yaml': deployment('worker'),
    });
    await initConfig(dir);
    const config = await loadConfig(dir);
    assert.deepEqual(config.services.web.manifests, ['k8s/web.yaml']);
    assert.deepEqual(config.services.worker.manifests, ['k8s/worker.yaml']);
    assert.equal(config.services.web.port, 3000);
    assert.equal(config.services.web.debug?.port, 9229);
  });

  it('never replaces an existing sandpiper.yaml unless forced; a dry run writes nothing', async () => {
    const dir = await folder({}, TS_SERVICE);
    await fs.writeFile(path.join(dir, 'sandpiper.yaml'), '# mine\n');
    const err = await rejectsWith(initConfig(dir, { existsHint: 'use --force' }), 'conflict');
    assert.match(err.message, /already exists/);
    assert.equal(err.hint, 'use --force');
    assert.equal(await fs.readFile(path.join(dir, 'sandpiper.yaml'), 'utf8'), '# mine\n');

    const dry = await initConfig(dir, { force: true, dryRun: true });
    assert.equal(dry.written, false);
    assert.match(dry.text, /hello:/);
    assert.equal(await fs.readFile(path.join(dir, 'sandpiper.yaml'), 'utf8'), '# mine\n');

    await initConfig(dir, { force: true });
    assert.equal(await fs.readFile(path.join(dir, 'sandpiper.yaml'), 'utf8'), dry.text);
  });

  it('says what is missing when the folder has no Deployment or StatefulSet, and writes nothing', async () => {
    const dir = await folder({ Dockerfile: 'FROM node:20\n', '.github/ci.yaml': 'on: push\n' });
    const err = await rejectsWith(initConfig(dir), 'manifests-missing');
    assert.match(err.hint ?? '', /manifests/);
    await assert.rejects(fs.access(path.join(dir, 'sandpiper.yaml')));
  });

  it('checks the file against the schema before writing: a value it refuses stops the write', async () => {
    const dir = await folder({
      'package.json': '{}',
      'k8s/app.yaml': deployment('app', '          ports: [{ name: http, containerPort: 70000 }]\n'),
    });
    const err = await rejectsWith(initConfig(dir), 'config-invalid');
    assert.match(err.message, /port/);
    await assert.rejects(fs.access(path.join(dir, 'sandpiper.yaml')));
  });
});

describe('Initialize: Dockerfile reading', () => {
  it('reads the final stage: WORKDIR, EXPOSE, exec-form CMD with --inspect and --watch', () => {
    const facts = parseDockerfile(
      [
        'FROM node:20 AS build',
        'WORKDIR /build',
        'EXPOSE 1234',
        'CMD ["node", "--inspect=0.0.0.0:9999", "x.js"]',
        'FROM node:20-slim',
        'WORKDIR /app',
        'WORKDIR src',
        '# a comment',
        'EXPOSE 8080/tcp 9229',
        'ENTRYPOINT ["node"]',
        'CMD ["--inspect-brk=127.0.0.1:9333", "--watch", \\',
        '     "dist/server.js"]',
      ].join('\n'),
      'Dockerfile',
    );
    assert.equal(facts.baseImage, 'node:20-slim');
    assert.equal(facts.workdir, '/app/src');
    assert.deepEqual(facts.expose, [8080, 9229]);
    assert.deepEqual(facts.node, { inspectPort: 9333, watch: true });
  });

  it('finds the inspector in NODE_OPTIONS and defaults its port; debugpy in the shell form', () => {
    const node = parseDockerfile('FROM node\nENV NODE_OPTIONS="--inspect=0.0.0.0"\nCMD node app.js\n', 'Dockerfile');
    assert.deepEqual(node.node, { inspectPort: 9229, watch: false });
    const py = parseDockerfile('FROM python\nCMD python -m debugpy --listen 5680 app.py\n', 'Dockerfile');
    assert.deepEqual(py.python, { debugpyPort: 5680 });
    assert.equal(parseDockerfile('FROM node\nCMD ["node", "app.js"]\n', 'Dockerfile').node, undefined);
  });
});
