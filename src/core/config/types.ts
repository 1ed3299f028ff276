export const CONFIG_FILE = 'sandpiper.yaml';

/** The typed shape of sandpiper.yaml after defaults are applied. */
export type DependencyMode = 'shared' | 'copy';

export type ReloadAction =
  { kind: 'none' } | { kind: 'signal'; signal: string; process?: string } | { kind: 'command'; command: string[] };

export interface SyncConfig {
  paths: string[];
  target: string;
  exclude: string[];
  rebuildOn: string[];
  auto: boolean;
  debounceMs: number;
  reload: ReloadAction;
}

export interface DebugConfig {
  runtime: 'node' | 'python';
  port: number;
  remoteRoot: string;
  localRoot?: string;
}

export interface ImageConfig {
  /** A fixed reference, or undefined when the image is built. */
  ref?: string;
  build?: { context: string; dockerfile: string; name?: string };
}

/** Where canary analysis reads request metrics: the app's own series, the Gateway's per-backend series, or only custom PromQL. */
export type AnalysisSource = 'app' | 'gateway' | 'promql';

/** A webhook for the canary's outcome; the URL itself stays in a Secret of the canary's namespace. */
export interface CanaryNotify {
  secret: string;
  key: string;
  /** A link back, with {{namespace}} and {{deployment}} filled in; else a vscode:// link to the rollout panel. */
  link?: string;
}

export const DEFAULT_NOTIFY_SECRET = 'sandpiper-notify';
export const DEFAULT_NOTIFY_KEY = 'url';
/** How long old pods keep serving after promote or abort when `drainSeconds` is not set. */
export const DEFAULT_DRAIN_SECONDS = 10;

export interface CanaryConfig {
  steps: number[];
  intervalMs: number;
  route?: string;
  /** How long the canary's Ready pods warm up before a step shifts weight to them (default 0). */
  warmupMs?: number;
  /** How long old pods keep serving after promote or abort (default DEFAULT_DRAIN_SECONDS at use). */
  drainSeconds?: number;
  /** Absent = no notifications. */
  notify?: CanaryNotify;
  analysis: {
    /** Default 'app'. */
    source?: AnalysisSource;
    successRate?: Threshold;
    p99LatencyMs?: Threshold;
    failureLimit: number;
    queries: Array<{ name: string; query: string; threshold: Threshold }>;
  };
}

/** The canary policy of a service that has none in sandpiper.yaml. */
export const DEFAULT_CANARY: CanaryConfig = {
  steps: [10, 25, 50, 100],
  intervalMs: 30_000,
  analysis: { failureLimit: 0, queries: [] },
};

export interface Threshold {
  op: '>=' | '<=' | '>' | '<';
  value: number;
}

export interface ServiceConfig {
  name: string;
  manifests: string[];
  image?: ImageConfig;
  container?: string;
  port?: number;
  sync?: SyncConfig;
  debug?: DebugConfig;
  dependencies: Record<string, DependencyMode>;
  canary?: CanaryConfig;
}

export interface SandpiperConfig {
  /** Folder holding sandpiper.yaml; relative paths resolve against it. */
  root: string;
  baseline: string;
  ttlMs: number;
  clusterDomain: string;
  registry?: string;
  copySecrets: boolean;
  github: { baseUrl?: string; maxReviewers: number };
  services: Record<string, ServiceConfig>;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /([0-9]+)(ms|s|m|h|d)/gy;

/** Parses durations such as `30s`, `8h` or `1h30m`; returns undefined when the text is not one. */
export function parseDuration(text: string): number | undefined {
  PART.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  for (let m = PART.exec(text); m; m = PART.exec(text)) {
    total += Number(m[1]) * UNIT_MS[m[2]];
    consumed = PART.lastIndex;
  }
  return consumed > 0 && consumed === text.length ? total : undefined;
}

export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.slice(0, 2).join('') || '0s';
}
