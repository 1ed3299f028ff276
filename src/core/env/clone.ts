import type { KubernetesObject, V1Service, V1ServicePort } from '@kubernetes/client-node';

export type KubeObject = KubernetesObject & { spec?: Record<string, unknown>; data?: unknown; [key: string]: unknown };

/** Metadata the API server owns; a copy carrying it would be rejected or would point back at the baseline. */
const SERVER_METADATA = ['uid', 'resourceVersion', 'managedFields', 'creationTimestamp', 'ownerReferences', 'generation', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds'] as const;
const BASELINE_ANNOTATIONS = ['kubectl.kubernetes.io/last-applied-configuration', 'deployment.kubernetes.io/revision'];

/**
 * A copy of a baseline object for the environment namespace: same spec, no status and nothing the
 * API server assigned (uid, resourceVersion, clusterIP(s), ...), with the environment's labels added.
 */
export function cloneForEnvironment<T extends KubeObject>(source: T, namespace: string, labels: Record<string, string>): T {
  const copy = structuredClone(source) as T & { status?: unknown };
  delete copy.status;
  const meta = { ...(copy.metadata ?? {}) } as Record<string, unknown>;
  for (const key of SERVER_METADATA) delete meta[key];
  const annotations = { ...((meta.annotations as Record<string, string>) ?? {}) };
  for (const key of BASELINE_ANNOTATIONS) delete annotations[key];
  meta.annotations = Object.keys(annotations).length ? annotations : undefined;
  if (meta.annotations === undefined) delete meta.annotations;
  meta.labels = { ...((meta.labels as Record<string, string>) ?? {}), ...labels };
  meta.namespace = namespace;
  copy.metadata = meta as T['metadata'];
  if (copy.kind === 'Service' && copy.spec) {
    const spec = copy.spec as Record<string, unknown>;
    // Cluster IPs are allocated per Service; "None" marks a headless Service and must stay.
    if (spec.clusterIP !== 'None') {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    } else spec.clusterIPs = ['None'];
    delete spec.healthCheckNodePort;
    if (Array.isArray(spec.ports)) spec.ports = (spec.ports as V1ServicePort[]).map(({ nodePort: _nodePort, ...port }) => port);
  }
  return copy;
}

/**
 * The env's stand-in for a shared dependency: a Service of the same name and ports whose DNS name
 * resolves to the baseline copy, so the service calls `http://<dep>` unchanged.
 */
export function sharedServiceFor(baselineService: V1Service, baseline: string, namespace: string, clusterDomain: string, labels: Record<string, string>): V1Service {
  const name = baselineService.metadata?.name ?? '';
  const ports = (baselineService.spec?.ports ?? []).map((p) => ({
    name: p.name,
    port: p.port,
    protocol: p.protocol ?? 'TCP',
    // ExternalName Services do no port mapping: the client connects to the baseline Service's port itself.
    targetPort: p.port,
  }));
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels: { ...labels, 'sandpiper.dev/dependency': name, 'sandpiper.dev/mode': 'shared' }, annotations: { 'sandpiper.dev/target': `${name}.${baseline}` } },
    spec: { type: 'ExternalName', externalName: `${name}.${baseline}.svc.${clusterDomain}`, ports },
  };
}
