/** The typed shape of sandpiper.yaml after defaults are applied. */
export type DependencyMode = 'shared' | 'copy';

export type ReloadAction = { kind: 'none' } | { kind: 'signal'; signal: string; process?: string } | { kind: 'command'; command: string[] };

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

export interface CanaryConfig {
  steps: number[];
  intervalMs: number;
  route?: string;
  analysis: {
    successRate?: Threshold;
    p99LatencyMs?: Threshold;
    failureLimit: number;
    queries: Array<{ name: string; query: string; threshold: Threshold }>;
  };
}

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
