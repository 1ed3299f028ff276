// An in-memory stand-in for the slices of the Kubernetes API the canary uses (Leases, Deployments, HTTPRoutes),
// with resourceVersion checks like the apiserver's, and hooks to fail or interleave calls in ways the testbed
// cannot force (an API blip during a renewal, a write by someone else between our read and our replace).
import { ApiException, type V1Deployment, type V1Lease, type V1Status } from '@kubernetes/client-node';
import type { HttpRoute } from '../../../src/core/canary/traffic';

type Obj = { metadata?: { name?: string; resourceVersion?: string; annotations?: Record<string, string> } };

export function conflict(): ApiException<unknown> {
  return new ApiException(409, 'Conflict', { reason: 'Conflict', message: 'the object has been modified' }, {});
}

export function unreachable(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' });
}

function notFound(name: string): ApiException<unknown> {
  return new ApiException(404, 'Not Found', { reason: 'NotFound', message: `"${name}" not found` }, {});
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export class FakeCluster {
  readonly leases = new Map<string, V1Lease>();
  readonly deployments = new Map<string, V1Deployment>();
  readonly routes = new Map<string, HttpRoute>();
  /** Every call by method name, in order. */
  readonly calls: string[] = [];
  private version = 1;
  /** Per method: what the next calls do before the real work (throw to fail that call). */
  private readonly before = new Map<string, Array<() => void>>();
  /** Per method: fail every call from now on with this error (until cleared). */
  private readonly always = new Map<string, () => Error>();

  /** The next calls of `method` run these first, one each (throw in one to fail that call). */
  next(method: string, ...steps: Array<() => void>): this {
    this.before.set(method, [...(this.before.get(method) ?? []), ...steps]);
    return this;
  }

  failAlways(method: string, error: (() => Error) | undefined): this {
    if (error) this.always.set(method, error);
    else this.always.delete(method);
    return this;
  }

  count(method: string): number {
    return this.calls.filter((c) => c === method).length;
  }

  private enter(method: string): void {
    this.calls.push(method);
    const always = this.always.get(method);
    if (always) throw always();
    this.before.get(method)?.shift()?.();
  }

  private stamp<T extends Obj>(obj: T): T {
    const copy = structuredClone(obj);
    copy.metadata = { ...copy.metadata, resourceVersion: String(++this.version) };
    return copy;
  }

  /** The stored object by that name, or the apiserver's 404. */
  private stored<T>(store: Map<string, T>, name: string): T {
    const o = store.get(name);
    if (!o) throw notFound(name);
    return o;
  }

  /** A call that reads one stored object: a copy of it, or the apiserver's 404. */
  private read<T>(method: string, store: Map<string, T>, name: string): T {
    this.enter(method);
    return structuredClone(this.stored(store, name));
  }

  private replace<T extends Obj>(store: Map<string, T>, name: string, body: T): T {
    const existing = this.stored(store, name);
    if (body.metadata?.resourceVersion && body.metadata.resourceVersion !== existing.metadata?.resourceVersion)
      throw conflict();
    const saved = this.stamp(body);
    store.set(name, saved);
    return structuredClone(saved);
  }

  /** Someone else edits a stored object (bumps its resourceVersion, as a real write would). */
  edit<T extends Obj>(store: Map<string, T>, name: string, change: (o: T) => void): void {
    const o = structuredClone(store.get(name)!);
    change(o);
    store.set(name, this.stamp(o));
  }

  addDeployment(d: V1Deployment): void {
    this.deployments.set(d.metadata!.name!, this.stamp(d));
  }

  addRoute(r: HttpRoute): void {
    this.routes.set(r.metadata!.name!, this.stamp(r));
  }

  addLease(l: V1Lease): void {
    this.leases.set(l.metadata!.name!, this.stamp(l));
  }

  readonly coordination = {
    readNamespacedLease: async (p: { name: string }): Promise<V1Lease> =>
      this.read('readNamespacedLease', this.leases, p.name),
    createNamespacedLease: async (p: { body: V1Lease }): Promise<V1Lease> => {
      this.enter('createNamespacedLease');
      const name = p.body.metadata!.name!;
      if (this.leases.has(name)) throw conflict();
      this.leases.set(name, this.stamp(p.body));
      return structuredClone(this.leases.get(name)!);
    },
    replaceNamespacedLease: async (p: { name: string; body: V1Lease }): Promise<V1Lease> => {
      this.enter('replaceNamespacedLease');
      return this.replace(this.leases, p.name, p.body);
    },
    deleteNamespacedLease: async (p: { name: string }): Promise<V1Status> => {
      this.enter('deleteNamespacedLease');
      if (!this.leases.delete(p.name)) throw notFound(p.name);
      return { status: 'Success' };
    },
  };

  readonly apps = {
    readNamespacedDeployment: async (p: { name: string }): Promise<V1Deployment> =>
      this.read('readNamespacedDeployment', this.deployments, p.name),
    patchNamespacedDeployment: async (p: { name: string; body: Obj }): Promise<V1Deployment> => {
      this.enter('patchNamespacedDeployment');
      const d = this.stored(this.deployments, p.name);
      const rv = p.body.metadata?.resourceVersion;
      if (rv && rv !== d.metadata?.resourceVersion) throw conflict();
      const patched = mergePatch(d, {
        ...p.body,
        metadata: { ...p.body.metadata, resourceVersion: null },
      }) as V1Deployment;
      this.deployments.set(p.name, this.stamp(patched));
      return structuredClone(this.deployments.get(p.name)!);
    },
  };

  readonly custom = {
    getNamespacedCustomObject: async (p: { name: string }): Promise<HttpRoute> =>
      this.read('getNamespacedCustomObject', this.routes, p.name),
    replaceNamespacedCustomObject: async (p: { name: string; body: object }): Promise<HttpRoute> => {
      this.enter('replaceNamespacedCustomObject');
      return this.replace(this.routes, p.name, p.body as HttpRoute);
    },
  };
}
