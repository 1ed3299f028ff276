// Images for tests on the real node: built with the product's own DockerImageBuilder on the testbed's dockerd and
// pushed to the testbed registry, so pods pull them exactly as a user's cluster would.
import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import Docker from 'dockerode';
import { DockerImageBuilder, buildContextTar } from '../../src/core/infra/docker';
import { loadTestbed } from './testbed';

// Two folders up is the repository both from test/support and from the exthost bundle in out/exthost.
const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** The Todo example: a monorepo whose package.json builds every service's bundle (`npm run build`). */
export const EXAMPLE_DIR = path.join(REPO_ROOT, 'examples', 'todo');

/** The example's tasks service: its Dockerfile, src/*.ts, dist/ (the bundle), k8s/ and sandpiper.yaml. */
export const TASKS_DIR = path.join(EXAMPLE_DIR, 'tasks');

const built = new Map<string, Promise<string>>();

/**
 * Builds `contextDir` (its Dockerfile) and pushes it as `<registry>/<repo>:<content hash>`; resolves to the
 * pushed reference pinned by digest. Memoised per process and per content, so a suite builds each image once.
 */
export function pushedImage(contextDir: string, repo: string, dockerfile = 'Dockerfile'): Promise<string> {
  const key = `${path.resolve(contextDir)}\0${repo}\0${dockerfile}`;
  let image = built.get(key);
  if (!image) {
    image = build(contextDir, repo, dockerfile);
    built.set(key, image);
    image.catch(() => built.delete(key));
  }
  return image;
}

async function build(contextDir: string, repo: string, dockerfile: string): Promise<string> {
  const tb = loadTestbed();
  const tag = crypto
    .createHash('sha256')
    .update(await buildContextTar(contextDir, dockerfile))
    .digest('hex')
    .slice(0, 16);
  const ref = `${tb.registry}/${repo}:${tag}`;
  const builder = new DockerImageBuilder(new Docker({ socketPath: tb.dockerSocket }));
  const log: string[] = [];
  try {
    return await builder.buildAndPush({ contextDir, dockerfile, ref, onProgress: (l) => log.push(l) });
  } catch (err) {
    throw new Error(
      `building ${repo} from ${contextDir} failed: ${(err as Error).message}\n${log.slice(-20).join('\n')}`,
    );
  }
}

/** What the tests use of scripts/todo.mjs (npm start's deployTodo decides the same way). */
interface TodoScript {
  /** Why examples/todo needs `npm ci` (node_modules missing or older than the lock), else null. */
  exampleInstallNeeded(): string | null;
}

// Loaded at run time from its path: an ES module of the repository's scripts, never bundled into a test bundle.
const todoScript = (): Promise<TodoScript> =>
  import(pathToFileURL(path.join(REPO_ROOT, 'scripts', 'todo.mjs')).href) as Promise<TodoScript>;

/** Runs a command in `cwd`; fails with its output's tail. */
function run(cmd: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { cwd, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve();
      const tail = `${stdout}${stderr}`.trim().split('\n').slice(-20).join('\n');
      reject(new Error(`\`${cmd} ${args.join(' ')}\` in ${cwd} failed: ${err.message}\n${tail}`));
    }),
  );
}

let exampleBuilt: Promise<void> | undefined;

/**
 * The example's packages and bundles, as `npm start` makes them: `npm ci` in examples/todo when scripts/todo.mjs
 * says it is needed, then `npm run build` (every service's dist/). Once per process.
 */
export function buildExample(): Promise<void> {
  if (!exampleBuilt) {
    exampleBuilt = (async () => {
      if ((await todoScript()).exampleInstallNeeded()) await run('npm', ['ci', '--no-audit', '--no-fund'], EXAMPLE_DIR);
      await run('npm', ['run', 'build'], EXAMPLE_DIR);
    })();
    exampleBuilt.catch(() => (exampleBuilt = undefined));
  }
  return exampleBuilt;
}

/**
 * Builds the example's bundles in `dir` (a copy of examples/todo) with the example's own build.mjs and esbuild:
 * what the `watch` task does on a save. The copy's node_modules may be a link to the example's.
 */
export function rebuildExampleCopy(dir: string): Promise<void> {
  return run(process.execPath, ['build.mjs'], dir);
}

/**
 * A copy of examples/todo in `dir` (a fresh temp folder by default) without its node_modules, which is a link to
 * the example's (installed by buildExample), so the copy builds with the example's own esbuild.
 */
export async function exampleCopy(dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-todo-'))): Promise<string> {
  await buildExample();
  fs.cpSync(EXAMPLE_DIR, dir, {
    recursive: true,
    filter: (src) => path.relative(EXAMPLE_DIR, src).split(path.sep)[0] !== 'node_modules',
  });
  fs.symlinkSync(path.join(EXAMPLE_DIR, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

/** The image of one folder of the example (tasks, search, auth, db), after the build, as `npm start` builds it. */
export async function exampleServiceImage(folder: string): Promise<string> {
  await buildExample();
  return pushedImage(path.join(EXAMPLE_DIR, folder), `sandpiper-example/${folder}`);
}

/** The image of the example's tasks service (examples/todo/tasks). */
export function exampleImage(): Promise<string> {
  return exampleServiceImage('tasks');
}

/** A throwaway build context in a temp folder: `files` maps relative paths to contents. */
export function contextOf(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-image-'));
  for (const [rel, body] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), body);
  }
  return dir;
}
