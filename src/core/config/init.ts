// Initialize: a commented sandpiper.yaml from what a folder holds, validated by the schema before it is written.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import ignore from 'ignore';
import { Document, isMap, isScalar, isSeq, type YAMLMap } from 'yaml';
import { SandpiperError } from '../errors';
import { formatProblem, parseConfig } from './loader';
import type { RawConfig, RawService } from './resolve';
import { CONFIG_FILE } from './types';
import {
  detectLanguage,
  exists,
  readDockerfile,
  readGitignore,
  scanManifests,
  type FoundWorkload,
  type ManifestScan,
} from './initDetect';

/** One service of the file to write, with the comment that says where each value came from. */
export interface PlannedService {
  name: string;
  raw: RawService;
  /** A comment above a key of the service (or above its name, under ''). */
  comments: Partial<Record<keyof RawService | '', string>>;
}

export interface InitPlan {
  root: string;
  baseline: string;
  services: PlannedService[];
  /** What was found, for the header comment and the CLI. */
  sources: string[];
}

export interface InitOptions {
  /** Replace an existing sandpiper.yaml. */
  force?: boolean;
  /** Return the text without writing it. */
  dryRun?: boolean;
  /** The hint when sandpiper.yaml exists (the CLI names --force). */
  existsHint?: string;
}

export interface InitResult {
  file: string;
  text: string;
  written: boolean;
  services: string[];
}

const DEFAULT_BASELINE = 'staging';
const SERVICE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Plans, renders, validates and (unless a dry run) writes `<root>/sandpiper.yaml`; never overwrites silently. */
export async function initConfig(root: string, opts: InitOptions = {}): Promise<InitResult> {
  const file = path.join(root, CONFIG_FILE);
  if (!opts.force && (await exists(file)))
    throw new SandpiperError(
      'conflict',
      `${file} already exists; Initialize does not replace it.`,
      opts.existsHint ?? `Edit ${CONFIG_FILE}, or delete it and initialize again.`,
    );
  const plan = await planInit(root);
  const text = renderPlan(plan);
  const checked = parseConfig(text, root);
  if (!checked.ok)
    throw new SandpiperError(
      'config-invalid',
      `The ${CONFIG_FILE} Initialize made is not valid (a bug in Initialize):\n` +
        checked.problems.map((p) => formatProblem(file, p)).join('\n'),
      'Nothing was written. Write the file by hand from the schema, and report the folder layout.',
    );
  if (!opts.dryRun) await fs.writeFile(file, text, { flag: opts.force ? 'w' : 'wx' });
  return { file, text, written: !opts.dryRun, services: plan.services.map((s) => s.name) };
}

/** What would go into sandpiper.yaml: one service per Deployment or StatefulSet of the folder's manifests. */
export async function planInit(root: string): Promise<InitPlan> {
  const scan = await scanManifests(root);
  if (!scan.workloads.length) {
    const kustomize = scan.kustomizeDirs.length ? ` (${scan.kustomizeDirs.join(', ')} hold a kustomization)` : '';
    throw new SandpiperError(
      'manifests-missing',
      `No Deployment or StatefulSet in the plain YAML manifests under ${root}${kustomize}.`,
      "Add the service's Kubernetes manifests (e.g. k8s/deployment.yaml and k8s/service.yaml), then initialize again.",
    );
  }
  const gitignore = await readGitignore(root);
  const used = new Set<string>();
  const services: PlannedService[] = [];
  for (const workload of scan.workloads) {
    services.push(await planService(root, scan, workload, gitignore, uniqueName(workload.name, used)));
  }
  const sources = [
    ...new Set(services.flatMap((s) => [s.raw.manifests, s.raw.image ? dockerfileOf(s.raw) : []].flat())),
  ];
  if (gitignore.length) sources.push('.gitignore');
  const pinned = scan.pinnedNamespaces.filter((n) => SERVICE_NAME.test(n));
  return { root, baseline: pinned.length === 1 ? pinned[0] : DEFAULT_BASELINE, services, sources };
}

function dockerfileOf(raw: RawService): string {
  const image = raw.image as { build?: string; dockerfile?: string };
  return path.posix.join(image.build ?? '.', image.dockerfile ?? 'Dockerfile');
}

async function planService(
  root: string,
  scan: ManifestScan,
  workload: FoundWorkload,
  gitignore: string[],
  name: string,
): Promise<PlannedService> {
  const comments: PlannedService['comments'] = {};
  const manifests = manifestEntry(scan, workload);
  const raw: RawService = { manifests };
  const selected = workload.services.length ? ` and Service ${workload.services.map((s) => `"${s}"`).join(', ')}` : '';
  comments.manifests = `${workload.kind} "${workload.name}"${selected}, applied into each environment's namespace.`;

  const context = await buildContext(root, manifests);
  const facts = context === undefined ? undefined : await readDockerfile(root, path.posix.join(context, 'Dockerfile'));
  if (context !== undefined) {
    raw.image = { build: context };
    comments.image =
      `Built from ${path.posix.join(context, 'Dockerfile')} on create, deploy and canary, tagged by a hash ` +
      'of the context, pushed, and pinned by digest.';
  }
  if (workload.containers > 1 && workload.container?.name) {
    raw.container = workload.container.name;
    comments.container = `The pod has ${workload.containers} containers: sync and debug use this one.`;
  }

  const contextDir = path.join(root, context ?? '.');
  const { language, outDir, evidence } = await detectLanguage(contextDir, facts);
  const runtime = facts?.python || language === 'python' ? 'python' : facts?.node || language ? 'node' : undefined;
  const debugPort = facts?.node?.inspectPort ?? facts?.python?.debugpyPort ?? (runtime === 'python' ? 5678 : 9229);
  const remoteRoot = facts?.workdir?.startsWith('/') ? facts.workdir : '/app';

  const port = httpPort(workload, facts?.expose ?? [], runtime ? debugPort : undefined);
  if (port) {
    raw.port = port.port;
    comments.port = `The HTTP port Open in Browser forwards (${port.from}).`;
  }

  if (language) {
    const watch = facts?.node?.watch ?? false;
    const sync = await planSync(root, context ?? '.', language, outDir, remoteRoot, gitignore, watch);
    raw.sync = sync.sync;
    comments.sync = sync.comment;
  }
  if (runtime) {
    raw.debug = { runtime, port: debugPort, remoteRoot };
    if (context && context !== '.') raw.debug.localRoot = context;
    const flag =
      runtime === 'node'
        ? facts?.node
          ? "the inspector flag of the Dockerfile's command"
          : 'nothing yet: start node with --inspect=0.0.0.0:9229 for Debug to attach'
        : facts?.python
          ? "the debugpy --listen of the Dockerfile's command"
          : 'nothing yet: start the app under debugpy --listen 0.0.0.0:5678 for Debug to attach';
    comments.debug = `${runtime === 'node' ? 'Node' : 'Python'} (from ${evidence ?? 'the Dockerfile'}); the port from ${flag}.`;
  }
  const deps = scan.baselineServices.filter((d) => d !== workload.name && mentions(workload.env, d));
  if (deps.length) {
    raw.dependencies = Object.fromEntries(deps.map((d) => [d, 'shared' as const]));
    comments.dependencies =
      `Services of the baseline "${scan.pinnedNamespaces.join(', ')}" that the container's environment names: ` +
      "shared uses the baseline's copy, copy clones it into the environment.";
  }
  raw.canary = { steps: [10, 25, 50, 100], interval: '30s' };
  comments.canary =
    'Traffic steps of a canary rollout. Add analysis (e.g. successRate: ">= 0.99") once Prometheus scrapes the service.';
  return { name, raw, comments };
}

/** The manifests' folder when it deploys this workload and nothing else; else the files themselves. */
function manifestEntry(scan: ManifestScan, workload: FoundWorkload): string | string[] {
  const dirs = workload.files.map((f) => path.posix.dirname(f));
  const dir = dirs.every((d) => d === dirs[0]) ? dirs[0] : undefined;
  if (dir && dir !== '.' && !scan.kustomizeDirs.some((k) => k === dir || k.startsWith(`${dir}/`))) {
    const inside = scan.yamlFiles.filter((y) => y.file.startsWith(`${dir}/`));
    if (inside.every((y) => y.plain) && inside.reduce((n, y) => n + y.workloads, 0) === 1) return `${dir}/`;
  }
  return workload.files.length === 1 ? workload.files[0] : workload.files;
}

/** The nearest folder, from the manifests up to the root, that holds a Dockerfile. */
async function buildContext(root: string, manifests: string | string[]): Promise<string | undefined> {
  const first = Array.isArray(manifests) ? manifests[0] : manifests;
  for (let dir = path.posix.dirname(first.replace(/\/$/, '')); ; dir = path.posix.dirname(dir)) {
    if (await exists(path.join(root, dir, 'Dockerfile'))) return dir;
    if (dir === '.' || dir === '/') return undefined;
  }
}

function httpPort(
  workload: FoundWorkload,
  expose: number[],
  debugPort: number | undefined,
): { port: number; from: string } | undefined {
  const ports = workload.container?.ports ?? [];
  const named = ports.find((p) => p.name === 'http' && p.containerPort);
  if (named) return { port: named.containerPort!, from: 'the containerPort named http' };
  const other = ports.find((p) => p.containerPort && p.containerPort !== debugPort);
  if (other) return { port: other.containerPort!, from: `containerPort of ${workload.kind} "${workload.name}"` };
  const exposed = expose.find((p) => p !== debugPort);
  if (exposed) return { port: exposed, from: `EXPOSE ${exposed} in the Dockerfile` };
  return undefined;
}

async function planSync(
  root: string,
  context: string,
  language: 'typescript' | 'node' | 'python',
  outDir: string | undefined,
  remoteRoot: string,
  gitignore: string[],
  watch: boolean,
): Promise<{ sync: NonNullable<RawService['sync']>; comment: string }> {
  const join = (...parts: string[]) => path.posix.join(context, ...parts);
  let local: string;
  let target: string;
  let comment: string;
  if (language === 'typescript') {
    const out = outDir ?? 'dist';
    local = `${join(out)}/`;
    target = path.posix.join(remoteRoot, out);
    comment = `TypeScript: compile (npx tsc -w) and the JavaScript in ${local} travels to the container.`;
  } else if (await exists(path.join(root, context, 'src'))) {
    local = `${join('src')}/`;
    target = path.posix.join(remoteRoot, 'src');
    comment = `Changes in ${local} are copied into the running container.`;
  } else {
    local = context === '.' ? '.' : `${context}/`;
    target = remoteRoot;
    comment = `Changes in ${context === '.' ? 'this folder' : local} are copied into the running container.`;
  }
  // Sync already leaves out what .gitignore does; a git-ignored sync path (a build's output) must travel anyway.
  const ignored = ignore().add(gitignore);
  const localPath = local === '.' ? '' : local;
  const exclude = gitignore.filter((p) => !localPath || !ignore().add(p).ignores(localPath));
  if (language !== 'python' && !watch)
    comment +=
      ' Node does not reload changed files by itself: start it with --watch, or add reload: { signal: SIGHUP } ' +
      'if the app reloads on that signal.';
  if (localPath && ignored.ignores(localPath)) {
    exclude.push(`!${localPath}`);
    comment += ` It is git-ignored, so "!${localPath}" lets it through.`;
  }
  const rebuildOn: string[] = [];
  const deps =
    language === 'python'
      ? ['requirements.txt', 'pyproject.toml', 'Pipfile']
      : ['package.json', 'package-lock.json', 'yarn.lock', 'pnpm-lock.yaml'];
  for (const f of ['Dockerfile', ...deps]) if (await exists(path.join(root, context, f))) rebuildOn.push(join(f));
  comment += ' A change to a file in rebuildOn rebuilds the image instead.';
  return { sync: { paths: [local], target, ...(exclude.length ? { exclude } : {}), rebuildOn }, comment };
}

/** Whether an environment value names the host (`http://search`, `mongodb://mongo:27017`, `search:80`). */
function mentions(values: string[], host: string): boolean {
  const re = new RegExp(`(^|//|@)${host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([:/.]|$)`);
  return values.some((v) => re.test(v));
}

function uniqueName(workloadName: string, used: Set<string>): string {
  const base =
    workloadName
      .toLowerCase()
      .replace(/[^-a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 58) || 'service';
  let name = base;
  for (let i = 2; used.has(name); i++) name = `${base}-${i}`;
  used.add(name);
  return name;
}

/** The commented YAML text of a plan (yaml's Document API keeps the comments with their keys). */
export function renderPlan(plan: InitPlan): string {
  const raw: RawConfig = {
    baseline: plan.baseline,
    ttl: '8h',
    services: Object.fromEntries(plan.services.map((s) => [s.name, s.raw])),
  };
  const doc = new Document(raw);
  doc.commentBefore = [
    ` ${CONFIG_FILE}: how Sandpiper runs this folder's services in ephemeral Kubernetes environments.`,
    ` Written by Initialize from ${plan.sources.join(', ')}. Check it, then create an environment.`,
    ' The editor checks this file against the schema as you type (resources/sandpiper.schema.json).',
  ].join('\n');
  const top = doc.contents as YAMLMap;
  comment(top, 'baseline', 'Namespace with the stable copy of every service; shared dependencies resolve to it.');
  comment(top, 'ttl', 'An environment idle for this long is deleted.');
  for (const s of plan.services) {
    const map = doc.getIn(['services', s.name]) as YAMLMap;
    for (const [key, text] of Object.entries(s.comments)) if (key && text) comment(map, key, text);
    // Short collections on one line, as in the examples; the sync section stays a block for its comment.
    for (const key of [['image'], ['debug'], ['canary'], ['dependencies'], ['sync', 'paths'], ['sync', 'rebuildOn']]) {
      const node = map.getIn(key, true);
      if (isMap(node) || isSeq(node)) node.flow = true;
    }
    const exclude = map.getIn(['sync', 'exclude'], true);
    if (isSeq(exclude)) exclude.flow = exclude.items.length <= 6;
  }
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

function comment(map: YAMLMap, key: string, text: string): void {
  const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key);
  if (pair && isScalar(pair.key)) pair.key.commentBefore = wrap(text);
}

/** Comment lines of at most ~100 characters, each starting with a space after the `#`. */
function wrap(text: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + word.length > 100) {
      lines.push(line);
      line = '';
    }
    line += ` ${word}`;
  }
  if (line) lines.push(line);
  return lines.join('\n');
}
