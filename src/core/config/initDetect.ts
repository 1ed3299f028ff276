// What Initialize learns from a folder: the workloads of its Kubernetes manifests, the Dockerfile that builds each
// one, the language, the debug flags of the container's command, and .gitignore. Nothing here writes or runs.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CONFIG_FILE } from './types';

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet']);
const SKIPPED_DIRS = new Set([
  'node_modules',
  '.git',
  '.sandpiper',
  'dist',
  'out',
  'build',
  'target',
  'vendor',
  '.venv',
  'venv',
  '__pycache__',
]);
const MAX_DEPTH = 4;
/** Manifests are small; a larger YAML file is data, not something to deploy. */
const MAX_MANIFEST_BYTES = 1024 * 1024;
const YAML_FILE = /\.ya?ml$/i;

interface KubeDoc {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  spec?: {
    selector?: Record<string, string> | { matchLabels?: Record<string, string> };
    template?: { metadata?: { labels?: Record<string, string> }; spec?: { containers?: Container[] } };
  };
}

interface Container {
  name?: string;
  image?: string;
  ports?: Array<{ name?: string; containerPort?: number }>;
  env?: Array<{ name?: string; value?: unknown }>;
}

/** A Deployment or StatefulSet found in the folder, with the files that deploy it. */
export interface FoundWorkload {
  kind: string;
  name: string;
  /** Files (relative, `/`-separated) holding the workload and the Services that select its pods. */
  files: string[];
  services: string[];
  /** The first container (the one Sandpiper syncs into and debugs) and how many there are. */
  container?: Container;
  containers: number;
  /** The literal environment values of its containers (which may name the services it depends on). */
  env: string[];
}

export interface ManifestScan {
  workloads: FoundWorkload[];
  /** Every YAML file scanned, by folder, with whether it holds only Kubernetes objects. */
  yamlFiles: Array<{ file: string; plain: boolean; workloads: number }>;
  /** Namespaces that objects pin (a baseline such as `staging` written out as manifests). */
  pinnedNamespaces: string[];
  /** Services of those namespaces: the dependencies a service may share from the baseline. */
  baselineServices: string[];
  kustomizeDirs: string[];
}

/** Walks the folder for plain YAML manifests; unreadable or non-Kubernetes YAML is skipped, not an error. */
export async function scanManifests(root: string): Promise<ManifestScan> {
  const found: Array<{ file: string; docs: KubeDoc[]; plain: boolean }> = [];
  const kustomizeDirs: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (depth < MAX_DEPTH && !SKIPPED_DIRS.has(e.name) && !e.name.startsWith('.')) await walk(full, depth + 1);
      } else if (e.isFile() && YAML_FILE.test(e.name) && e.name !== CONFIG_FILE) {
        if (/^kustomization\.ya?ml$/i.test(e.name)) kustomizeDirs.push(relative(root, dir));
        const read = await readManifest(full);
        if (read) found.push({ file: relative(root, full), ...read });
      }
    }
  };
  await walk(root, 0);

  const services = found.flatMap((f) =>
    f.docs.filter((d) => d.kind === 'Service' && !d.metadata?.namespace).map((d) => ({ file: f.file, doc: d })),
  );
  const workloads: FoundWorkload[] = [];
  const pinned = new Set<string>();
  for (const f of found) {
    for (const doc of f.docs) {
      if (doc.metadata?.namespace) pinned.add(doc.metadata.namespace);
      // An object that names its namespace cannot be deployed into an environment's namespace: a baseline.
      if (!WORKLOAD_KINDS.has(doc.kind ?? '') || !doc.metadata?.name || doc.metadata.namespace) continue;
      const labels = doc.spec?.template?.metadata?.labels ?? {};
      const selecting = services.filter((s) => selects(s.doc, labels));
      const containers = doc.spec?.template?.spec?.containers ?? [];
      workloads.push({
        kind: doc.kind!,
        name: doc.metadata.name,
        files: [...new Set([f.file, ...selecting.map((s) => s.file)])].sort(),
        services: selecting.map((s) => s.doc.metadata!.name!),
        container: containers[0],
        containers: containers.length,
        env: containers.flatMap((c) => (c.env ?? []).map((e) => e.value).filter((v) => typeof v === 'string')),
      });
    }
  }
  return {
    workloads,
    yamlFiles: found.map((f) => ({
      file: f.file,
      plain: f.plain,
      workloads: f.docs.filter((d) => WORKLOAD_KINDS.has(d.kind ?? '')).length,
    })),
    pinnedNamespaces: [...pinned].sort(),
    baselineServices: found.flatMap((f) =>
      f.docs.filter((d) => d.kind === 'Service' && d.metadata?.namespace).map((d) => d.metadata!.name!),
    ),
    kustomizeDirs,
  };
}

async function readManifest(file: string): Promise<{ docs: KubeDoc[]; plain: boolean } | undefined> {
  const stat = await fs.stat(file).catch(() => undefined);
  if (!stat || stat.size > MAX_MANIFEST_BYTES) return undefined;
  const text = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const docs: KubeDoc[] = [];
  let plain = true;
  for (const doc of parseAllDocuments(text)) {
    if ('errors' in doc && doc.errors.length) return { docs: [], plain: false };
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    const obj = value as KubeDoc & { apiVersion?: unknown };
    // Sandpiper's deploy refuses a folder holding YAML that is not a Kubernetes object (CI files, compose files).
    if (typeof value !== 'object' || !obj.apiVersion || !obj.kind || !obj.metadata?.name) plain = false;
    else docs.push(obj);
  }
  return { docs, plain };
}

function selects(service: KubeDoc, labels: Record<string, string>): boolean {
  const selector = service.spec?.selector as Record<string, string> | undefined;
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

/** What a Dockerfile's final stage says about the container. */
export interface DockerfileFacts {
  /** Relative to the root, `/`-separated. */
  file: string;
  baseImage?: string;
  workdir?: string;
  expose: number[];
  /** ENTRYPOINT and CMD as one command line. */
  command: string;
  node?: { inspectPort: number; watch: boolean };
  python?: { debugpyPort: number };
}

/** `--inspect`, `--inspect-brk=9230`, `--inspect=0.0.0.0:9229`, `--inspect=0.0.0.0` (a host only: port 9229). */
const INSPECT = /--inspect(?:-brk|-wait)?(?:=([^\s"',]*))?(?=[\s"',]|$)/;
const DEBUGPY_LISTEN = /debugpy\b[^\n]*?--listen\s+(?:[^\s"',:]*:)?(\d+)/;

export async function readDockerfile(root: string, file: string): Promise<DockerfileFacts | undefined> {
  const text = await fs.readFile(path.join(root, file), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : parseDockerfile(text, relative(root, path.join(root, file)));
}

/** Reads the instructions Initialize needs; the last stage is the image that runs. */
export function parseDockerfile(text: string, file: string): DockerfileFacts {
  const facts: DockerfileFacts = { file, expose: [], command: '' };
  let entrypoint = '';
  let cmd = '';
  let env = '';
  for (const line of instructions(text)) {
    const m = /^(\w+)\s+([\s\S]*)$/.exec(line);
    if (!m) continue;
    const keyword = m[1].toUpperCase();
    const args = m[2].trim();
    if (keyword === 'FROM') {
      Object.assign(facts, { baseImage: args.split(/\s+/)[0], workdir: undefined, expose: [] });
      entrypoint = cmd = env = '';
    } else if (keyword === 'WORKDIR') {
      facts.workdir = facts.workdir && !args.startsWith('/') ? path.posix.join(facts.workdir, args) : args;
    } else if (keyword === 'EXPOSE') {
      for (const p of args.split(/\s+/)) if (/^\d+(\/tcp)?$/i.test(p)) facts.expose.push(Number.parseInt(p, 10));
    } else if (keyword === 'CMD') {
      cmd = commandLine(args);
    } else if (keyword === 'ENTRYPOINT') {
      entrypoint = commandLine(args);
    } else if (keyword === 'ENV') {
      env += ` ${args}`;
    }
  }
  facts.command = [entrypoint, cmd].filter(Boolean).join(' ');
  // NODE_OPTIONS=--inspect=... in an ENV line starts the inspector as surely as the command line.
  const inspect = INSPECT.exec(facts.command) ?? (/NODE_OPTIONS/.test(env) ? INSPECT.exec(env) : null);
  if (inspect) {
    const port = /(?:^|:)(\d+)$/.exec(inspect[1] ?? '');
    facts.node = { inspectPort: port ? Number(port[1]) : 9229, watch: /(^|\s)--watch\b/.test(facts.command) };
  }
  const debugpy = DEBUGPY_LISTEN.exec(facts.command);
  if (debugpy) facts.python = { debugpyPort: Number(debugpy[1]) };
  return facts;
}

/** Instructions with comments dropped and `\` continuations joined. */
function instructions(text: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!current && (line.startsWith('#') || !line)) continue;
    if (line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    out.push(current + line);
    current = '';
  }
  if (current) out.push(current);
  return out;
}

/** The exec form (a JSON array) as a command line; the shell form as written. */
function commandLine(args: string): string {
  if (args.startsWith('[')) {
    try {
      const parts = JSON.parse(args) as unknown;
      if (Array.isArray(parts)) return parts.map(String).join(' ');
    } catch {
      // Not valid JSON: Docker runs it through the shell, as written.
    }
  }
  return args;
}

export type Language = 'typescript' | 'node' | 'python';

/** The language of a build context, and for TypeScript where the compiler writes. */
export async function detectLanguage(
  dir: string,
  dockerfile?: DockerfileFacts,
): Promise<{ language?: Language; outDir?: string; evidence?: string }> {
  const has = (name: string) =>
    fs.access(path.join(dir, name)).then(
      () => true,
      () => false,
    );
  if (await has('tsconfig.json')) {
    const tsconfig = await readJsonc(path.join(dir, 'tsconfig.json'));
    const options = (tsconfig?.compilerOptions ?? {}) as { outDir?: unknown };
    const outDir =
      typeof options.outDir === 'string' ? trimDir(options.outDir) : (scriptDir(dockerfile?.command) ?? 'dist');
    return { language: 'typescript', outDir, evidence: 'tsconfig.json' };
  }
  // A service folder of a monorepo: the tsconfig (often noEmit, a bundler writes) is in a folder above; what the
  // container runs says where the JavaScript is.
  const above = await tsconfigAbove(dir);
  if (above)
    return {
      language: 'typescript',
      outDir: scriptDir(dockerfile?.command) ?? 'dist',
      evidence: `${path.relative(dir, above)} (a monorepo's)`,
    };
  if (await has('package.json')) return { language: 'node', evidence: 'package.json' };
  for (const file of ['pyproject.toml', 'requirements.txt', 'setup.py', 'Pipfile'])
    if (await has(file)) return { language: 'python', evidence: file };
  if (dockerfile?.node) return { language: 'node', evidence: 'the Dockerfile (node --inspect)' };
  if (dockerfile?.python) return { language: 'python', evidence: 'the Dockerfile (debugpy)' };
  const base = dockerfile?.baseImage ?? '';
  if (/(^|\/)node[:@]|^node$/.test(base)) return { language: 'node', evidence: `the base image ${base}` };
  if (/(^|\/)python[:@]|^python$/.test(base)) return { language: 'python', evidence: `the base image ${base}` };
  return {};
}

/** The nearest tsconfig.json in the folders above `dir`, up to the repository's root (its .git) or 3 levels. */
async function tsconfigAbove(dir: string): Promise<string | undefined> {
  let current = path.resolve(dir);
  for (let level = 0; level < 3; level++) {
    if (await exists(path.join(current, '.git'))) return undefined;
    const parent = path.dirname(current);
    if (parent === current) return undefined;
    current = parent;
    if (await exists(path.join(current, 'tsconfig.json'))) return path.join(current, 'tsconfig.json');
  }
  return undefined;
}

/** The folder of the script a `node` command runs: `node --watch dist/server.js` → dist. */
export function scriptDir(command: string | undefined): string | undefined {
  const m = /(?:^|\s)node(?:\s+-[^\s]+)*\s+((?:[\w.@-]+\/)+)[\w.@-]+\.[cm]?js(?=\s|$)/.exec(command ?? '');
  return m?.[1].split('/').find((part) => part && part !== '.');
}

/** tsconfig.json is JSON with comments and trailing commas. */
async function readJsonc(file: string): Promise<Record<string, unknown> | undefined> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  // Strings are matched first so that `//` inside one (a URL, a glob) survives.
  const stripped = text
    .replace(/("(?:\\.|[^"\\])*")|\/\/[^\n]*|\/\*[\s\S]*?\*\//g, (_m, str: string | undefined) => str ?? '')
    .replace(/,(\s*[}\]])/g, '$1');
  try {
    return JSON.parse(stripped) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The patterns of a .gitignore, without comments, blank lines or negations. */
export async function readGitignore(root: string): Promise<string[]> {
  const text = await fs.readFile(path.join(root, '.gitignore'), 'utf8').catch(() => '');
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && !l.startsWith('!'));
}

export async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

function trimDir(dir: string): string {
  return dir.replace(/^\.\//, '').replace(/\/+$/, '') || '.';
}

/** A path relative to the root with `/` separators ('.' for the root itself). */
export function relative(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join('/') || '.';
}
