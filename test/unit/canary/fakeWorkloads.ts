// FakeCluster plus a toy workload controller: Deployments get pods that turn Ready a little after a scale-up,
// Services get EndpointSlices of the Ready pods they select, ReplicaSets carry the pod-template-hash. Every change
// that moves traffic is written to a timeline with its time, so tests can check the order of make-before-break and
// the drains (what happened, and how long after what).
import type { V1Deployment, V1Service, V1Status } from '@kubernetes/client-node';
import type { HttpRoute } from '../../../src/core/canary/traffic';
import { FakeCluster } from './fakeCluster';

interface Pod {
  name: string;
  deployment: string;
  hash: string;
  labels: Record<string, string>;
  ready: boolean;
}

export interface Mark {
  t: number;
  what: string;
}

function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function parseSelector(s: string | undefined): Record<string, string> {
  return Object.fromEntries(
    (s ?? '')
      .split(',')
      .filter(Boolean)
      .map((kv) => kv.split('=') as [string, string]),
  );
}

function hashOf(d: V1Deployment): string {
  const images = (d.spec?.template.spec?.containers ?? []).map((c) => c.image ?? '').join('');
  return `h${images.replace(/[^a-z0-9]/g, '').replace(/[aeiou]/g, 'x')}`;
}

export class FakeWorkloads extends FakeCluster {
  readonly services = new Map<string, V1Service>();
  readonly pods: Pod[] = [];
  readonly timeline: Mark[] = [];
  /** How long a new pod takes to turn Ready. */
  readyDelayMs = 30;
  private readonly started = Date.now();
  private seq = 0;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor() {
    super();
    const basePatch = this.apps.patchNamespacedDeployment;
    const baseReplace = this.custom.replaceNamespacedCustomObject;
    Object.assign(this.apps, {
      patchNamespacedDeployment: async (p: { name: string; body: V1Deployment }) => {
        const before = structuredClone(this.deployments.get(p.name));
        const out = await basePatch(p);
        this.reconcile(p.name, before);
        return out;
      },
      deleteNamespacedDeployment: async (p: { name: string }): Promise<V1Status> => {
        this.calls.push('deleteNamespacedDeployment');
        if (!this.deployments.delete(p.name)) throw Object.assign(new Error('not found'), { code: 404 });
        this.mark(`delete ${p.name}`);
        this.removePods((pod) => pod.deployment === p.name);
        return { status: 'Success' };
      },
      listNamespacedReplicaSet: async () => ({
        items: [...this.deployments.values()].map((d) => ({
          metadata: {
            ownerReferences: [{ uid: d.metadata?.uid }],
            annotations: {
              'deployment.kubernetes.io/revision': d.metadata?.annotations?.['deployment.kubernetes.io/revision'],
            },
            labels: { 'pod-template-hash': hashOf(d) },
          },
        })),
      }),
    });
    Object.assign(this.custom, {
      replaceNamespacedCustomObject: async (p: { name: string; body: object }) => {
        const out = await baseReplace(p);
        const refs = (p.body as HttpRoute).spec?.rules?.[0]?.backendRefs ?? [];
        this.mark(`route ${refs.find((b) => b.name.endsWith('-canary'))?.weight ?? 0}`);
        return out;
      },
      listNamespacedCustomObject: async (p: { labelSelector?: string }) => {
        this.calls.push('listEndpointSlices');
        const service = parseSelector(p.labelSelector)['kubernetes.io/service-name'];
        const selector = this.services.get(service)?.spec?.selector ?? {};
        const endpoints = this.pods
          .filter((pod) => pod.ready && matches(selector, pod.labels))
          .map((pod) => ({ conditions: { ready: true }, targetRef: { kind: 'Pod', name: pod.name } }));
        return { items: [{ endpoints }] };
      },
    });
  }

  readonly core = {
    listNamespacedService: async () => ({ items: [...this.services.values()].map((s) => structuredClone(s)) }),
    patchNamespacedService: async (p: {
      name: string;
      body: { spec: { selector: Record<string, string | null> } };
    }) => {
      const svc = this.services.get(p.name);
      if (!svc) throw Object.assign(new Error('not found'), { code: 404 });
      const selector: Record<string, string> = { ...svc.spec!.selector };
      for (const [k, v] of Object.entries(p.body.spec.selector)) {
        if (v === null) delete selector[k];
        else selector[k] = v;
      }
      svc.spec!.selector = selector;
      this.mark(`pin ${p.name} ${selector['pod-template-hash'] ?? 'none'}`);
      return structuredClone(svc);
    },
    deleteNamespacedService: async (p: { name: string }) => {
      this.services.delete(p.name);
      this.mark(`delete service ${p.name}`);
      return { status: 'Success' };
    },
    listNamespacedPod: async (p: { labelSelector?: string }) => ({
      items: this.pods
        .filter((pod) => matches(parseSelector(p.labelSelector), pod.labels))
        .map((pod) => ({ metadata: { name: pod.name, labels: pod.labels } })),
    }),
  };

  mark(what: string): void {
    this.timeline.push({ t: Date.now() - this.started, what });
  }

  /** The timeline's entries, without times. */
  order(): string[] {
    return this.timeline.map((m) => m.what);
  }

  /** When `what` first happened (ms since the fake was made); fails the test when it never did. */
  at(what: string): number {
    const m = this.timeline.find((x) => x.what === what);
    if (!m) throw new Error(`never happened: ${what}; timeline ${JSON.stringify(this.order())}`);
    return m.t;
  }

  /** A Deployment whose pods are all Ready already. */
  addWorkload(d: V1Deployment): void {
    const stamped = structuredClone(d);
    stamped.metadata = {
      uid: `uid-${d.metadata?.name}`,
      generation: 1,
      ...stamped.metadata,
      annotations: { 'deployment.kubernetes.io/revision': '1', ...stamped.metadata?.annotations },
    };
    this.addDeployment(stamped);
    const name = d.metadata!.name!;
    for (let i = 0; i < (d.spec?.replicas ?? 1); i++) this.addPod(name, true);
    this.setStatus(name);
  }

  addService(svc: V1Service): void {
    this.services.set(svc.metadata!.name!, structuredClone(svc));
  }

  /** Stops the pending Ready timers (after a test). */
  stop(): void {
    for (const t of this.timers) clearTimeout(t);
  }

  private addPod(deployment: string, ready: boolean): Pod {
    const d = this.deployments.get(deployment)!;
    const hash = hashOf(d);
    const labels = { ...(d.spec?.template.metadata?.labels ?? {}), 'pod-template-hash': hash };
    const pod = { name: `${deployment}-${hash}-${++this.seq}`, deployment, hash, labels, ready };
    this.pods.push(pod);
    return pod;
  }

  private removePods(which: (p: Pod) => boolean): void {
    for (let i = this.pods.length - 1; i >= 0; i--) if (which(this.pods[i])) this.pods.splice(i, 1);
  }

  /** The Deployment controller's part: pods follow spec.replicas and the template, new ones Ready after a delay. */
  private reconcile(name: string, before: V1Deployment | undefined): void {
    const d = this.deployments.get(name)!;
    const templateChanged = JSON.stringify(before?.spec?.template) !== JSON.stringify(d.spec?.template);
    const replicasChanged = before?.spec?.replicas !== d.spec?.replicas;
    if (!templateChanged && !replicasChanged) return;
    d.metadata!.generation = (d.metadata?.generation ?? 1) + 1;
    if (templateChanged) {
      const revision = Number(d.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? '1') + 1;
      d.metadata!.annotations = { ...d.metadata?.annotations, 'deployment.kubernetes.io/revision': String(revision) };
      this.mark(`image ${name} ${d.spec?.template.spec?.containers[0].image}`);
    }
    if (replicasChanged) this.mark(`scale ${name} ${d.spec?.replicas ?? 0}`);
    const want = d.spec?.replicas ?? 0;
    const hash = hashOf(d);
    const current = () => this.pods.filter((p) => p.deployment === name && p.hash === hash);
    // Old template: replaced once the new pods are Ready (a rolling update, in one go).
    const old = this.pods.filter((p) => p.deployment === name && p.hash !== hash);
    while (current().length > want) {
      const extra = current().at(-1)!;
      this.removePods((p) => p === extra);
    }
    const fresh: Pod[] = [];
    while (current().length < want) fresh.push(this.addPod(name, false));
    if (!fresh.length && old.length && !want) this.removePods((p) => old.includes(p));
    this.setStatus(name);
    if (!fresh.length) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      for (const p of fresh) p.ready = true;
      this.removePods((p) => old.includes(p));
      this.setStatus(name);
      this.mark(`ready ${name} ${current().filter((p) => p.ready).length}`);
    }, this.readyDelayMs);
    this.timers.add(timer);
  }

  private setStatus(name: string): void {
    const d = this.deployments.get(name);
    if (!d) return;
    const hash = hashOf(d);
    const mine = this.pods.filter((p) => p.deployment === name);
    const ready = mine.filter((p) => p.ready);
    d.status = {
      observedGeneration: d.metadata?.generation ?? 1,
      replicas: mine.length,
      updatedReplicas: ready.filter((p) => p.hash === hash).length,
      readyReplicas: ready.length,
      availableReplicas: ready.length,
    };
  }
}
