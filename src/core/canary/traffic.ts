import type { CustomObjectsApi, V1Deployment, V1Service } from '@kubernetes/client-node';
import { mergePatch, type Kube } from '../infra/kube/client';
import { httpCode, kubeError } from '../infra/kube/errors';
import { DEFAULT_DRAIN_SECONDS } from '../config/types';
import { SandpiperError, cancelled, sleep } from '../errors';
import { CANARY_OF_ANNOTATION, TRACK_LABEL, readDeployment, type CanaryState } from './state';
import { replicaSplit } from './steps';

export const GATEWAY = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' } as const;

interface BackendRef {
  name: string;
  kind?: string;
  group?: string;
  port?: number;
  weight?: number;
  namespace?: string;
}

export interface HttpRoute {
  metadata?: { name?: string; resourceVersion?: string };
  spec?: { rules?: Array<{ backendRefs?: BackendRef[] } & Record<string, unknown>> };
}

function isServiceRef(ref: BackendRef, service: string): boolean {
  return ref.name === service && (ref.kind ?? 'Service') === 'Service' && !ref.group;
}

export function routeTargets(route: HttpRoute, service: string): boolean {
  return (route.spec?.rules ?? []).some((r) => (r.backendRefs ?? []).some((b) => isServiceRef(b, service)));
}

/** The rules with every reference to the service split between it and its canary Service by weight (0 drops the canary). */
export function weightedRules(
  route: HttpRoute,
  service: string,
  canaryService: string,
  weight: number,
): NonNullable<HttpRoute['spec']>['rules'] {
  return (route.spec?.rules ?? []).map((rule) => {
    const refs = rule.backendRefs ?? [];
    const stable = refs.find((b) => isServiceRef(b, service));
    if (!stable) return rule;
    const others = refs.filter((b) => !isServiceRef(b, service) && !isServiceRef(b, canaryService));
    const { weight: _w, ...stableRef } = stable;
    if (weight <= 0) return { ...rule, backendRefs: [...others, stableRef] };
    return {
      ...rule,
      backendRefs: [...others, { ...stableRef, weight: 100 - weight }, { ...stableRef, name: canaryService, weight }],
    };
  });
}

/** The Service whose selector picks the Deployment's pods. */
export async function serviceFor(
  kube: Kube,
  namespace: string,
  deployment: V1Deployment,
): Promise<V1Service | undefined> {
  const labels = deployment.spec?.template.metadata?.labels ?? {};
  const list = await kube.core.listNamespacedService({ namespace }).catch((err) => {
    throw kubeError(err, `list the Services of ${namespace}`);
  });
  return list.items.find((s) => {
    const sel = s.spec?.selector;
    return (
      sel &&
      !s.metadata?.annotations?.[CANARY_OF_ANNOTATION] &&
      Object.keys(sel).length > 0 &&
      Object.entries(sel).every(([k, v]) => labels[k] === v || k === 'pod-template-hash')
    );
  });
}

/** The HTTPRoute that sends traffic to the Service: the one sandpiper.yaml names, else the first that refers to it. */
export async function routeFor(
  kube: Kube,
  namespace: string,
  service: string,
  named?: string,
): Promise<HttpRoute | undefined> {
  let items: HttpRoute[];
  try {
    const list = (await kube.custom.listNamespacedCustomObject({ ...GATEWAY, namespace })) as { items: HttpRoute[] };
    items = list.items;
  } catch (err) {
    if (httpCode(err) === 404) return undefined; // no Gateway API CRDs on this cluster
    throw kubeError(err, `list the HTTPRoutes of ${namespace}`);
  }
  if (named) return items.find((r) => r.metadata?.name === named);
  return items.find((r) => routeTargets(r, service));
}

/** The slice of the API that writes route weights: `Kube` fits it, unit tests pass an in-memory fake. */
export interface RouteApi {
  custom: Pick<CustomObjectsApi, 'getNamespacedCustomObject' | 'replaceNamespacedCustomObject'>;
}

const ROUTE_ATTEMPTS = 5;

/**
 * Sets the canary's share on the route with optimistic concurrency: the replace carries the resourceVersion we
 * read, so an edit by anyone in between (a GitOps sync, another window) fails ours with 409 and we recompute
 * the rules from theirs instead of overwriting them.
 */
export async function setRouteWeight(
  kube: RouteApi,
  namespace: string,
  routeName: string,
  service: string,
  weight: number,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const route = (await kube.custom
      .getNamespacedCustomObject({ ...GATEWAY, namespace, name: routeName })
      .catch((err) => {
        throw kubeError(err, `read HTTPRoute ${routeName}`);
      })) as HttpRoute;
    const rules = weightedRules(route, service, `${service}-canary`, weight);
    if (JSON.stringify(rules) === JSON.stringify(route.spec?.rules ?? [])) return;
    try {
      await kube.custom.replaceNamespacedCustomObject({
        ...GATEWAY,
        namespace,
        name: routeName,
        body: { ...route, spec: { ...route.spec, rules } },
      });
      return;
    } catch (err) {
      if (httpCode(err) === 409 && attempt < ROUTE_ATTEMPTS) continue;
      throw kubeError(err, `set the canary weight on HTTPRoute ${routeName}`);
    }
  }
}

/** The canary's own Service: the stable one's ports, selecting only canary pods. */
export function canaryServiceOf(stable: V1Service, stableDeployment: string): V1Service {
  return {
    metadata: {
      name: `${stable.metadata?.name}-canary`,
      labels: { [TRACK_LABEL]: 'canary' },
      annotations: { [CANARY_OF_ANNOTATION]: stableDeployment },
    },
    spec: {
      selector: { ...(stable.spec?.selector ?? {}), [TRACK_LABEL]: 'canary' },
      ports: (stable.spec?.ports ?? []).map((p) => ({
        name: p.name,
        port: p.port,
        targetPort: p.targetPort,
        protocol: p.protocol,
      })),
    },
  };
}

/** Pins (or unpins, with null) the stable Service to the stable ReplicaSet's pods so canary pods get only the route's share. */
export async function pinStableService(
  kube: Kube,
  namespace: string,
  service: string,
  hash: string | null,
): Promise<void> {
  await kube.core
    .patchNamespacedService(
      { namespace, name: service, body: { spec: { selector: { 'pod-template-hash': hash } } } },
      mergePatch(),
    )
    .catch((err) => {
      if (hash === null && httpCode(err) === 404) return;
      throw kubeError(err, `update the selector of Service ${service}`);
    });
}

export async function scaleDeployment(kube: Kube, namespace: string, name: string, replicas: number): Promise<void> {
  await kube.apps
    .patchNamespacedDeployment({ namespace, name, body: { spec: { replicas } } }, mergePatch())
    .catch((err) => {
      throw kubeError(err, `scale Deployment ${name} to ${replicas}`);
    });
}

/** How long pods taken out of traffic keep running (Gateways and kube-proxy apply changes asynchronously). */
export function drainMs(state: CanaryState): number {
  return 1000 * (state.spec?.drainSeconds ?? DEFAULT_DRAIN_SECONDS);
}

/** Waits, failing with a cancellation if stopped meanwhile: a cut-short drain must not go on to delete pods. */
export async function hold(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms > 0) await sleep(ms, signal);
  if (signal?.aborted) throw cancelled();
}

/** Whether an EndpointSlice endpoint is a pod of the canary Deployment (pods are named `<deployment>-<hash>-<id>`). */
function podOf(deployment: string): (pod: string) => boolean {
  return (pod) => pod.startsWith(`${deployment}-`);
}

/**
 * Makes the cluster match the state's weight; idempotent, so a resuming driver calls it first. Make-before-break:
 * the side that grows is scaled first and its new pods must be Ready, listed as ready endpoints and warmed
 * (`spec.warmupMs`, only for pods just started) before the route share or the replica ratio moves; the side that
 * shrinks gives up its traffic first (a route share drained for `drainSeconds`) and loses pods last.
 */
export async function applyWeight(
  kube: Kube,
  namespace: string,
  stable: string,
  canary: string,
  state: CanaryState,
  signal?: AbortSignal,
): Promise<void> {
  const routed = state.trafficMode === 'httproute';
  const split = replicaSplit(state.stableReplicas, state.weight, routed ? 'httproute' : 'replicas');
  const current = await readDeployment(kube, namespace, canary);
  const running = current.spec?.replicas ?? 0;
  if (split.canary < running) {
    if (routed) {
      if (state.route) {
        await setRouteWeight(kube, namespace, routeNameOf(state), serviceOfRoute(state), state.weight);
        await hold(drainMs(state), signal);
      }
    } else {
      await scaleDeployment(kube, namespace, stable, split.stable);
      await waitForAvailable(kube, namespace, stable, split.stable, stable, signal);
    }
    await scaleDeployment(kube, namespace, canary, split.canary);
    return;
  }
  const serving = current.status?.availableReplicas ?? 0;
  await scaleDeployment(kube, namespace, canary, split.canary);
  if (split.canary > 0) {
    await waitForAvailable(kube, namespace, canary, split.canary, stable, signal);
    const service = routed ? `${serviceOfRoute(state)}-canary` : await stableServiceName(kube, namespace, stable);
    if (service && (!routed || state.route))
      await waitForEndpoints(kube, namespace, service, split.canary, signal, undefined, podOf(canary));
    // Pods that were already serving (a resumed driver) are warm; new ones get warmupMs before their share.
    if (split.canary > serving) await hold(state.spec?.warmupMs ?? 0, signal);
  }
  if (!routed) await scaleDeployment(kube, namespace, stable, split.stable);
  else if (state.route) await setRouteWeight(kube, namespace, routeNameOf(state), serviceOfRoute(state), state.weight);
}

/** The Service in front of the stable Deployment's pods (and, in replica-ratio mode, the canary's), if any. */
export async function stableServiceName(kube: Kube, namespace: string, stable: string): Promise<string | undefined> {
  return (await serviceFor(kube, namespace, await readDeployment(kube, namespace, stable)))?.metadata?.name;
}

/** How long the route waits for the canary's pods before giving up (the route then still sends it nothing). */
export const CANARY_READY_TIMEOUT_MS = 180_000;

/** Waits until the Deployment has `replicas` pods available, or fails saying where the traffic was left. */
export async function waitForAvailable(
  kube: Kube,
  namespace: string,
  name: string,
  replicas: number,
  stable: string,
  signal?: AbortSignal,
  timeoutMs = CANARY_READY_TIMEOUT_MS,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (signal?.aborted) throw cancelled();
    const d = await readDeployment(kube, namespace, name);
    const available = d.status?.availableReplicas ?? 0;
    if (available >= replicas && (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0)) return;
    if (Date.now() > until)
      throw new SandpiperError(
        'not-ready',
        `Deployment ${name} has ${available} of ${replicas} pods available after ${timeoutMs / 1000} s; ` +
          'the traffic is left where it was.',
        `Look at the pods of ${name} and their events; \`sandpiper rollout abort ${stable}\` rolls it back.`,
      );
    await sleep(500, signal);
  }
}

interface Endpoint {
  conditions?: { ready?: boolean };
  targetRef?: { kind?: string; name?: string };
}

/**
 * Make-before-break for a route: waits until the Service's EndpointSlices list `ready` ready endpoints. Pods being
 * Ready is not enough: the endpoints follow a moment later (after a selector change, the Service has none meanwhile),
 * and a Gateway sent there before answers 503 for every request.
 */
export async function waitForEndpoints(
  kube: Kube,
  namespace: string,
  service: string,
  ready: number,
  signal?: AbortSignal,
  timeoutMs = 60_000,
  /** Count only the endpoints of these pods (a Service in front of both tracks). */
  pods?: (name: string) => boolean,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  let seen = 0;
  for (;;) {
    if (signal?.aborted) throw cancelled();
    const list = (await kube.custom
      .listNamespacedCustomObject({
        group: 'discovery.k8s.io',
        version: 'v1',
        plural: 'endpointslices',
        namespace,
        labelSelector: `kubernetes.io/service-name=${service}`,
      })
      .catch((err) => {
        throw kubeError(err, `list the endpoints of Service ${service}`);
      })) as { items?: Array<{ endpoints?: Endpoint[] }> };
    seen = (list.items ?? [])
      .flatMap((s) => s.endpoints ?? [])
      .filter((e) => e.conditions?.ready !== false && (!pods || pods(e.targetRef?.name ?? ''))).length;
    if (seen >= ready) return;
    if (Date.now() > until)
      throw new SandpiperError(
        'not-ready',
        `Service ${service} has ${seen} of ${ready} endpoints ready after ${timeoutMs / 1000} s; its route share is ` +
          'left where it was.',
        `Look at \`kubectl -n ${namespace} get endpointslices -l kubernetes.io/service-name=${service}\` and the pods' readiness.`,
      );
    await sleep(250, signal);
  }
}

/** In httproute mode `route` is stored as "<httproute>/<service>". */
export function serviceOfRoute(state: CanaryState): string {
  return state.route?.split('/')[1] ?? '';
}

export function routeNameOf(state: CanaryState): string {
  return state.route?.split('/')[0] ?? '';
}
