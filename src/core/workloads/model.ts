import { CANARY_OF_ANNOTATION, readCanaryState, type CanaryState } from '../canary/state';
import { deploymentSummary, rolloutSummary } from './summaries';
import type { Kube } from '../infra/kube/client';
import { ResourceWatch, type ListResult } from '../infra/kube/watch';
import { ARGO, hasArgoRollouts } from './actions';

function keyOf(namespace: string | undefined, name: string | undefined): string {
  return `${namespace ?? ''}/${name ?? ''}`;
}

/**
 * The reducer over watch events: it keeps the objects it was told about, indexed by owner, and says
 * which workloads each event touched so a caller re-renders only those. No I/O: recorded sequences replay in tests.
 */
export class RolloutModel {
  private readonly objects: Record<WatchedKind, Map<string, WatchedObject>> = {
    Deployment: new Map(),
    ReplicaSet: new Map(),
    Pod: new Map(),
    Rollout: new Map(),
    AnalysisRun: new Map(),
  };
  /** ReplicaSet key → key of the Deployment or Rollout owning it. */
  private readonly rsOwner = new Map<string, string>();
  /** Pod key → ReplicaSet key, and pods counted per ReplicaSet. */
  private readonly podOwner = new Map<string, string>();
  private readonly podsPerRs = new Map<string, number>();

  /** Applies one event; returns the keys (`namespace/name`) of the workloads whose summary may have changed. */
  apply(event: WatchEvent): string[] {
    const { kind, object } = event;
    const ns = object.metadata?.namespace;
    const key = keyOf(ns, object.metadata?.name);
    const store = this.objects[kind];
    if (event.type === 'delete') store.delete(key);
    else store.set(key, object);
    switch (kind) {
      case 'Deployment':
      case 'Rollout':
        return [this.workloadKeyOf(object) ?? key];
      case 'ReplicaSet': {
        const owner = controllerOf(object);
        if (event.type === 'delete' || !owner) this.rsOwner.delete(key);
        else this.rsOwner.set(key, keyOf(ns, owner.name));
        const workload = this.rsOwner.get(key) ?? (owner ? keyOf(ns, owner.name) : undefined);
        return workload ? [this.stableKeyOf(workload)] : [];
      }
      case 'Pod':
        return this.applyPod(key, event);
      case 'AnalysisRun': {
        const owner = controllerOf(object);
        return owner ? [keyOf(ns, owner.name)] : [];
      }
    }
  }

  private applyPod(key: string, event: WatchEvent): string[] {
    const before = this.podOwner.get(key);
    if (before) this.podsPerRs.set(before, (this.podsPerRs.get(before) ?? 1) - 1);
    this.podOwner.delete(key);
    if (event.type === 'upsert') {
      const owner = controllerOf(event.object);
      if (owner?.kind === 'ReplicaSet') {
        const rs = keyOf(event.object.metadata?.namespace, owner.name);
        this.podOwner.set(key, rs);
        this.podsPerRs.set(rs, (this.podsPerRs.get(rs) ?? 0) + 1);
      }
    }
    const rs = this.podOwner.get(key) ?? before;
    const workload = rs ? this.rsOwner.get(rs) : undefined;
    return workload ? [this.stableKeyOf(workload)] : [];
  }

  /** A canary Deployment is shown as part of the stable workload it belongs to. */
  private workloadKeyOf(obj: WatchedObject): string | undefined {
    const of = obj.metadata?.annotations?.[CANARY_OF_ANNOTATION];
    return of ? keyOf(obj.metadata?.namespace, of) : undefined;
  }

  private stableKeyOf(workloadKey: string): string {
    const d = this.objects.Deployment.get(workloadKey);
    return (d && this.workloadKeyOf(d)) ?? workloadKey;
  }

  private podsOf(workloadKey: string): number {
    let n = 0;
    for (const [rs, owner] of this.rsOwner) if (owner === workloadKey) n += this.podsPerRs.get(rs) ?? 0;
    return n;
  }

  /** The summary of one workload, or undefined when it is gone (or is a canary shown under its stable one). */
  summary(key: string): WorkloadSummary | undefined {
    const deployment = this.objects.Deployment.get(key);
    if (deployment && !this.workloadKeyOf(deployment)) {
      const [ns, name] = key.split('/');
      const canaryKey = [...this.objects.Deployment.entries()].find(
        ([, d]) => d.metadata?.namespace === ns && d.metadata?.annotations?.[CANARY_OF_ANNOTATION] === name,
      )?.[0];
      const canary = canaryKey ? this.objects.Deployment.get(canaryKey) : undefined;
      const summary = deploymentSummary(
        deployment,
        this.podsOf(key) + (canaryKey ? this.podsOf(canaryKey) : 0),
        canary,
      );
      return summary;
    }
    const rollout = this.objects.Rollout.get(key);
    if (rollout) {
      const runs = [...this.objects.AnalysisRun.values()].filter(
        (r) =>
          r.metadata?.namespace === rollout.metadata?.namespace && controllerOf(r)?.name === rollout.metadata?.name,
      );
      runs.sort((a, b) =>
        String(a.metadata?.creationTimestamp ?? '').localeCompare(String(b.metadata?.creationTimestamp ?? '')),
      );
      return rolloutSummary(rollout, this.podsOf(key), runs.slice(-3));
    }
    return undefined;
  }

  /** The built-in canary state recorded on a Deployment, or undefined (none, or an annotation we cannot trust). */
  canaryState(key: string): CanaryState | undefined {
    try {
      return readCanaryState(this.objects.Deployment.get(key)?.metadata?.annotations);
    } catch {
      return undefined;
    }
  }

  /** Every workload, sorted by namespace and name. */
  summaries(): WorkloadSummary[] {
    const keys = new Set<string>();
    for (const [key, d] of this.objects.Deployment) if (!this.workloadKeyOf(d)) keys.add(key);
    for (const key of this.objects.Rollout.keys()) keys.add(key);
    return [...keys]
      .sort()
      .map((k) => this.summary(k))
      .filter((s): s is WorkloadSummary => s !== undefined);
  }

  /** Forgets everything of one kind, before a relist replays it. */
  clear(kind: WatchedKind): void {
    this.objects[kind].clear();
    if (kind === 'ReplicaSet') this.rsOwner.clear();
    if (kind === 'Pod') {
      this.podOwner.clear();
      this.podsPerRs.clear();
    }
  }

  get size(): number {
    return Object.values(this.objects).reduce((n, m) => n + m.size, 0);
  }
}

/** One change seen by a watch: the kind is carried beside the object because list items arrive without `kind`. */
export type WatchedKind = 'Deployment' | 'ReplicaSet' | 'Pod' | 'Rollout' | 'AnalysisRun';

export interface OwnerReference {
  kind: string;
  name: string;
  uid?: string;
  controller?: boolean;
}

/** The fields of a Kubernetes object the rollout model reads; everything else is ignored. */
export interface WatchedObject {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerReference[];
    creationTimestamp?: string | Date;
  };
  spec?: unknown;
  status?: unknown;
}

export interface WatchEvent {
  kind: WatchedKind;
  type: 'upsert' | 'delete';
  object: WatchedObject;
}

export function controllerOf(obj: WatchedObject): OwnerReference | undefined {
  const refs = obj.metadata?.ownerReferences ?? [];
  return refs.find((r) => r.controller) ?? refs[0];
}

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
  metrics: Array<{
    name: string;
    phase: string;
    value?: string;
    failed: number;
    successful: number;
    inconclusive: number;
  }>;
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
  verdict?: { verdict: 'pass' | 'fail' | 'no-data' | 'unavailable'; summary: string; at: string };
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

export interface NamespaceWatchOptions {
  resyncMs?: number;
  onChange: (keys: Set<string>) => void;
  onError?: (err: unknown) => void;
}

function listed(list: { items: unknown[]; metadata?: { resourceVersion?: string } }): ListResult {
  return { items: list.items as WatchedObject[], resourceVersion: list.metadata?.resourceVersion ?? '' };
}

/** Watches Deployments, ReplicaSets, Pods and, when the CRDs exist, Argo Rollouts and AnalysisRuns of one namespace into a model. */
export async function watchNamespace(
  kube: Kube,
  namespace: string,
  model: RolloutModel,
  o: NamespaceWatchOptions,
): Promise<{ dispose(): void; watches: ResourceWatch[] }> {
  const onEvents = (events: WatchEvent[]) => {
    const keys = new Set<string>();
    for (const e of events) for (const k of model.apply(e)) keys.add(k);
    if (keys.size) o.onChange(keys);
  };
  const common = { onEvents, onError: o.onError, resyncMs: o.resyncMs ?? 300_000 };
  const watches = [
    new ResourceWatch(kube.config, {
      ...common,
      kind: 'Deployment',
      path: `/apis/apps/v1/namespaces/${namespace}/deployments`,
      list: async () => listed(await kube.apps.listNamespacedDeployment({ namespace })),
    }),
    new ResourceWatch(kube.config, {
      ...common,
      kind: 'ReplicaSet',
      path: `/apis/apps/v1/namespaces/${namespace}/replicasets`,
      list: async () => listed(await kube.apps.listNamespacedReplicaSet({ namespace })),
    }),
    new ResourceWatch(kube.config, {
      ...common,
      kind: 'Pod',
      path: `/api/v1/namespaces/${namespace}/pods`,
      list: async () => listed(await kube.core.listNamespacedPod({ namespace })),
    }),
  ];
  if (await hasArgoRollouts(kube, namespace).catch(() => false)) {
    const custom = (plural: string) => async () =>
      listed(
        (await kube.custom.listNamespacedCustomObject({
          group: ARGO.group,
          version: ARGO.version,
          namespace,
          plural,
        })) as { items: unknown[] },
      );
    watches.push(
      new ResourceWatch(kube.config, {
        ...common,
        kind: 'Rollout',
        path: `/apis/${ARGO.group}/${ARGO.version}/namespaces/${namespace}/${ARGO.rollouts}`,
        list: custom(ARGO.rollouts),
      }),
      new ResourceWatch(kube.config, {
        ...common,
        kind: 'AnalysisRun',
        path: `/apis/${ARGO.group}/${ARGO.version}/namespaces/${namespace}/${ARGO.analysisRuns}`,
        list: custom(ARGO.analysisRuns),
      }),
    );
  }
  const started = await Promise.allSettled(watches.map((w) => w.start()));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    for (const w of watches) w.stop();
    throw (failed as PromiseRejectedResult).reason;
  }
  return { watches, dispose: () => watches.forEach((w) => w.stop()) };
}
