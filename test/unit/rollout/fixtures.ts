import {
  CANARY_OF_ANNOTATION,
  CANARY_STATE_ANNOTATION,
  writeCanaryState,
  type CanaryState,
} from '../../../src/core/canary/state';
import type { WatchEvent, WatchedObject } from '../../../src/core/workloads/model';

/** Objects shaped as the API server sends them, trimmed to what the model reads. */
export function deployment(
  name: string,
  o: {
    replicas?: number;
    updated?: number;
    ready?: number;
    available?: number;
    revision?: string;
    annotations?: Record<string, string>;
    conditions?: unknown[];
    uid?: string;
  } = {},
): WatchedObject {
  return {
    metadata: {
      name,
      namespace: 'shop',
      uid: o.uid ?? `uid-${name}`,
      annotations: { 'deployment.kubernetes.io/revision': o.revision ?? '1', ...(o.annotations ?? {}) },
    },
    spec: { replicas: o.replicas ?? 3, template: { spec: { containers: [{ name: 'app', image: `${name}:1` }] } } },
    status: {
      updatedReplicas: o.updated ?? 3,
      readyReplicas: o.ready ?? 3,
      availableReplicas: o.available ?? 3,
      conditions: o.conditions ?? [],
    },
  };
}

export function replicaSet(name: string, owner: string, kind = 'Deployment'): WatchedObject {
  return { metadata: { name, namespace: 'shop', ownerReferences: [{ kind, name: owner, controller: true }] } };
}

export function pod(name: string, rs: string): WatchedObject {
  return {
    metadata: { name, namespace: 'shop', ownerReferences: [{ kind: 'ReplicaSet', name: rs, controller: true }] },
  };
}

export function upsert(kind: WatchEvent['kind'], object: WatchedObject): WatchEvent {
  return { kind, type: 'upsert', object };
}

export function remove(kind: WatchEvent['kind'], object: WatchedObject): WatchEvent {
  return { kind, type: 'delete', object };
}

export function canaryState(over: Partial<CanaryState> = {}): CanaryState {
  return {
    version: 1,
    status: 'progressing',
    image: 'web:2',
    container: 'app',
    steps: [10, 50, 100],
    stepIndex: 0,
    weight: 10,
    intervalMs: 30_000,
    stepStartedAt: '2026-01-01T00:00:00.000Z',
    failures: 0,
    trafficMode: 'replicas',
    stableReplicas: 4,
    history: [],
    ...over,
  };
}

export function withCanary(d: WatchedObject, s: CanaryState): WatchedObject {
  return {
    ...d,
    metadata: {
      ...d.metadata,
      annotations: { ...(d.metadata?.annotations ?? {}), [CANARY_STATE_ANNOTATION]: writeCanaryState(s) },
    },
  };
}

export function canaryDeploymentOf(stable: string): WatchedObject {
  const d = deployment(`${stable}-canary`, { replicas: 1, ready: 1 });
  return { ...d, metadata: { ...d.metadata, annotations: { [CANARY_OF_ANNOTATION]: stable } } };
}
