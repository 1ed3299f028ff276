// From a sandpiper.yaml that passed the schema to the SandpiperConfig the rest of Sandpiper reads: defaults filled in,
// durations and thresholds parsed.
import schema from '../../../resources/sandpiper.schema.json';
import { SandpiperError } from '../errors';
import {
  parseDuration,
  DEFAULT_NOTIFY_KEY,
  DEFAULT_NOTIFY_SECRET,
  type CanaryConfig,
  type ReloadAction,
  type SandpiperConfig,
  type ServiceConfig,
  type Threshold,
} from './types';

export interface RawService {
  manifests: string | string[];
  image?: string | { build?: string; dockerfile?: string; name?: string };
  container?: string;
  port?: number;
  sync?: {
    paths: string[];
    target: string;
    exclude?: string[];
    rebuildOn?: string[];
    auto?: boolean;
    debounce?: string;
    reload?: 'none' | { signal: string; process?: string } | { command: string[] };
  };
  debug?: { runtime?: 'node' | 'python'; port?: number; remoteRoot?: string; localRoot?: string };
  dependencies?: Record<string, 'shared' | 'copy'>;
  canary?: {
    steps?: number[];
    interval?: string;
    warmup?: string;
    drainSeconds?: number;
    route?: string;
    analysis?: {
      source?: 'app' | 'gateway' | 'promql';
      successRate?: string;
      p99LatencyMs?: string;
      failureLimit?: number;
      queries?: Array<{ name: string; query: string; threshold: string }>;
    };
    notify?: { secret?: string; key?: string; link?: string };
  };
}

export interface RawConfig {
  baseline?: string;
  ttl?: string;
  clusterDomain?: string;
  registry?: string;
  copySecrets?: boolean;
  github?: { baseUrl?: string; maxReviewers?: number };
  services: Record<string, RawService>;
}

const THRESHOLD = new RegExp(schema.definitions.threshold.pattern);

/** ">= 0.99" → { op: '>=', value: 0.99 }; the schema's pattern is the one definition of the form. */
export function parseThreshold(text: string): Threshold {
  const m = THRESHOLD.exec(text.trim());
  const value = m ? Number(text.trim().slice(m[1].length)) : NaN;
  if (!m || !Number.isFinite(value))
    throw new SandpiperError('config-invalid', `"${text}" is not a threshold such as ">= 0.99".`);
  return { op: m[1] as Threshold['op'], value };
}

function toReload(r: NonNullable<RawService['sync']>['reload']): ReloadAction {
  if (r === undefined || r === 'none') return { kind: 'none' };
  if ('signal' in r) return { kind: 'signal', signal: r.signal, process: r.process };
  return { kind: 'command', command: r.command };
}

function toCanary(c: NonNullable<RawService['canary']>): CanaryConfig {
  const a = c.analysis ?? {};
  return {
    steps: c.steps ?? [10, 25, 50, 100],
    intervalMs: parseDuration(c.interval ?? '30s') ?? 30_000,
    route: c.route,
    ...(c.warmup !== undefined ? { warmupMs: parseDuration(c.warmup) ?? 0 } : {}),
    ...(c.drainSeconds !== undefined ? { drainSeconds: c.drainSeconds } : {}),
    ...(c.notify
      ? {
          notify: {
            secret: c.notify.secret ?? DEFAULT_NOTIFY_SECRET,
            key: c.notify.key ?? DEFAULT_NOTIFY_KEY,
            ...(c.notify.link ? { link: c.notify.link } : {}),
          },
        }
      : {}),
    analysis: {
      ...(a.source ? { source: a.source } : {}),
      successRate: a.successRate ? parseThreshold(a.successRate) : undefined,
      p99LatencyMs: a.p99LatencyMs ? parseThreshold(a.p99LatencyMs) : undefined,
      failureLimit: a.failureLimit ?? 0,
      queries: (a.queries ?? []).map((q) => ({ name: q.name, query: q.query, threshold: parseThreshold(q.threshold) })),
    },
  };
}

/** A problem the schema cannot say clearly, at its path under the service (e.g. ['canary', 'analysis', 'queries']). */
export interface CanaryProblem {
  segments: string[];
  message: string;
}

/** Checks across canary keys: promql analysis reads only custom queries, so it needs some and no built-in thresholds. */
export function canaryProblems(c: RawService['canary']): CanaryProblem[] {
  const a = c?.analysis;
  if (a?.source !== 'promql') return [];
  const problems: CanaryProblem[] = [];
  if (!a.queries?.length)
    problems.push({
      segments: ['canary', 'analysis', 'queries'],
      message:
        'analysis source promql checks only the custom queries, and there are none ' +
        '(add canary.analysis.queries, or use source app or gateway)',
    });
  for (const key of ['successRate', 'p99LatencyMs'] as const)
    if (a[key] !== undefined)
      problems.push({
        segments: ['canary', 'analysis', key],
        message: `${key} needs request metrics, which source promql does not read (write it as a query, or use source app or gateway)`,
      });
  return problems;
}

function toService(name: string, s: RawService): ServiceConfig {
  const runtime = s.debug?.runtime ?? 'node';
  return {
    name,
    manifests: Array.isArray(s.manifests) ? s.manifests : [s.manifests],
    image:
      s.image === undefined
        ? undefined
        : typeof s.image === 'string'
          ? { ref: s.image }
          : {
              build: {
                context: s.image.build ?? '.',
                dockerfile: s.image.dockerfile ?? 'Dockerfile',
                name: s.image.name,
              },
            },
    container: s.container,
    port: s.port,
    sync: s.sync && {
      paths: s.sync.paths,
      target: s.sync.target,
      exclude: s.sync.exclude ?? [],
      rebuildOn: s.sync.rebuildOn ?? [],
      auto: s.sync.auto ?? true,
      debounceMs: parseDuration(s.sync.debounce ?? '50ms') ?? 50,
      reload: toReload(s.sync.reload),
    },
    debug: s.debug && {
      runtime,
      port: s.debug.port ?? (runtime === 'python' ? 5678 : 9229),
      remoteRoot: s.debug.remoteRoot ?? s.sync?.target ?? '/app',
      localRoot: s.debug.localRoot,
    },
    dependencies: s.dependencies ?? {},
    canary: s.canary && toCanary(s.canary),
  };
}

export function toConfig(raw: RawConfig, root: string): SandpiperConfig {
  return {
    root,
    baseline: raw.baseline ?? 'staging',
    ttlMs: parseDuration(raw.ttl ?? '8h') ?? 8 * 3_600_000,
    clusterDomain: raw.clusterDomain ?? 'cluster.local',
    registry: raw.registry,
    copySecrets: raw.copySecrets ?? false,
    github: { baseUrl: raw.github?.baseUrl, maxReviewers: raw.github?.maxReviewers ?? 3 },
    services: Object.fromEntries(Object.entries(raw.services).map(([n, s]) => [n, toService(n, s)])),
  };
}
