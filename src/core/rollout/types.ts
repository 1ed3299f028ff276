/** What the rollout panel, the CLI and the canary driver know about one workload. Plain data: it crosses to the webview. */

export type WorkloadKind = 'Deployment' | 'Rollout';

export interface WorkloadCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface AnalysisSummary {
  name: string;
  phase: string;
  /** One line per metric: its name, phase and the last measured value. */
  metrics: Array<{ name: string; phase: string; value?: string; failed: number; successful: number; inconclusive: number }>;
  message?: string;
}

/** How traffic reaches the canary: weights on a Gateway API HTTPRoute, or the share of replicas. */
export type TrafficMode = 'httproute' | 'replicas' | 'argo';

export interface CanarySummary {
  /** 0-based index of the current step; equals stepCount when all steps are done. */
  stepIndex: number;
  stepCount: number;
  /** Percent of traffic (or replicas) on the canary. */
  weight: number;
  paused: boolean;
  /** progressing | paused | promoted | aborted | failed … */
  status: string;
  trafficMode: TrafficMode;
  /** The Service / HTTPRoute names involved, when known. */
  route?: string;
  image?: string;
  analysis: AnalysisSummary[];
  /** The built-in canary's latest verdict. */
  verdict?: { verdict: 'pass' | 'fail' | 'no-data'; summary: string; at: string };
  message?: string;
}

export interface WorkloadSummary {
  kind: WorkloadKind;
  namespace: string;
  name: string;
  revision: string;
  desired: number;
  updated: number;
  ready: number;
  available: number;
  /** Pods seen by the watch that belong to this workload (any phase). */
  pods: number;
  images: string[];
  conditions: WorkloadCondition[];
  progressDeadlineExceeded: boolean;
  canary?: CanarySummary;
}
