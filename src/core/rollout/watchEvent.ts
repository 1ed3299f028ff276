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
