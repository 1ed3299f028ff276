import type { CoordinationV1Api, V1Lease } from '@kubernetes/client-node';
import { SandpiperError, cancelled, sleep } from '../errors';
import { httpCode, kubeError } from '../infra/kube/errors';

/** One driver per canary: a coordination.k8s.io Lease named after the stable Deployment. */
export interface LeaseOptions {
  holder: string;
  durationSeconds: number;
  /** Pause between renewal attempts after a failure; default a sixth of the lease (at most 2 s). */
  retryMs?: number;
  /** Told about each failed renewal that will be retried (for the log). */
  onRetry?: (err: unknown, attempt: number) => void;
}

/** The slice of the API the lease uses: `Kube` fits it, unit tests pass an in-memory fake. */
export interface LeaseApi {
  coordination: Pick<
    CoordinationV1Api,
    'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease' | 'deleteNamespacedLease'
  >;
}

export function leaseName(deployment: string): string {
  return `sandpiper-canary-${deployment}`.slice(0, 253);
}

/** The API server wants MicroTime with six fractional digits; client-node would send a Date with three. */
function microTime(d: Date): Date {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;
}

function expired(lease: V1Lease, now: Date): boolean {
  const renewed = lease.spec?.renewTime ?? lease.spec?.acquireTime;
  if (!renewed || !lease.spec?.holderIdentity) return true;
  return new Date(renewed).getTime() + (lease.spec.leaseDurationSeconds ?? 15) * 1000 < now.getTime();
}

/** Advice for a canary nobody drives any more: both verbs take over an expired lease. */
export function takeOverHint(deployment: string): string {
  return (
    `Take it over with \`sandpiper rollout resume ${deployment}\` (Resume in the Rollouts panel), ` +
    `or roll it back with \`sandpiper rollout abort ${deployment}\` (Abort).`
  );
}

function busy(holder: string | undefined, deployment: string): SandpiperError {
  return new SandpiperError(
    'canary-busy',
    `Another Sandpiper (${holder ?? 'unknown'}) is driving the canary of ${deployment}.`,
    'Let it finish, or stop it; its lease expires a few seconds after it stops.',
  );
}

/** The holder of a live lease on the canary, or undefined when nobody drives it (no lease, released or expired). */
export async function liveDriver(
  kube: LeaseApi,
  namespace: string,
  deployment: string,
  now = new Date(),
): Promise<string | undefined> {
  try {
    const lease = await kube.coordination.readNamespacedLease({ namespace, name: leaseName(deployment) });
    return expired(lease, now) ? undefined : lease.spec?.holderIdentity;
  } catch (err) {
    if (httpCode(err) === 404) return undefined;
    throw kubeError(err, `read Lease ${leaseName(deployment)}`);
  }
}

class TakenOver extends Error {}

export class CanaryLease {
  private timer?: NodeJS.Timeout;
  private readonly lost = new AbortController();
  private released = false;
  /** Ends a pause between retries at once when the lease is released. */
  private readonly stopped = new AbortController();
  /** When the lease was last written by us: it stays ours until this plus its duration. */
  private renewedAt = 0;

  private constructor(
    private readonly kube: LeaseApi,
    private readonly namespace: string,
    private readonly name: string,
    private readonly options: LeaseOptions,
  ) {}

  /** Aborted when renewals kept failing until the lease would expire, or another holder took it: stop acting. */
  get lostSignal(): AbortSignal {
    return this.lost.signal;
  }

  /** Takes the lease, or refuses with `canary-busy` when another holder's lease is still live. */
  static async acquire(
    kube: LeaseApi,
    namespace: string,
    deployment: string,
    options: LeaseOptions,
  ): Promise<CanaryLease> {
    const lease = new CanaryLease(kube, namespace, leaseName(deployment), options);
    await lease.take(deployment);
    lease.schedule(lease.period);
    return lease;
  }

  /**
   * Takes the lease, waiting while another holder's is live (it may be finishing what we asked for): resolves
   * with undefined as soon as `done()` says there is nothing left to do, or with the lease once it is ours.
   */
  static async acquireWhenFree(
    kube: LeaseApi,
    namespace: string,
    deployment: string,
    options: LeaseOptions & { pollMs?: number },
    done: () => Promise<boolean>,
    signal?: AbortSignal,
  ): Promise<CanaryLease | undefined> {
    for (;;) {
      if (await done()) return undefined;
      try {
        return await CanaryLease.acquire(kube, namespace, deployment, options);
      } catch (err) {
        if (!(err instanceof SandpiperError && err.code === 'canary-busy')) throw err;
      }
      await sleep(options.pollMs ?? 1000, signal);
      if (signal?.aborted) throw signal.reason instanceof SandpiperError ? signal.reason : cancelled();
    }
  }

  private get period(): number {
    return (this.options.durationSeconds * 1000) / 3;
  }

  private get retryMs(): number {
    return this.options.retryMs ?? Math.min(2000, (this.options.durationSeconds * 1000) / 6);
  }

  private schedule(ms: number): void {
    if (this.released) return;
    this.timer = setTimeout(() => void this.renewUntilExpiry(), ms);
    this.timer.unref?.();
  }

  private spec(now: Date, acquire: boolean, existing?: V1Lease) {
    return {
      holderIdentity: this.options.holder,
      leaseDurationSeconds: this.options.durationSeconds,
      acquireTime: acquire ? microTime(now) : (existing?.spec?.acquireTime ?? microTime(now)),
      renewTime: microTime(now),
    };
  }

  private async take(deployment: string): Promise<void> {
    const now = new Date();
    let existing: V1Lease | undefined;
    try {
      existing = await this.kube.coordination.readNamespacedLease({ namespace: this.namespace, name: this.name });
    } catch (err) {
      if (httpCode(err) !== 404) throw kubeError(err, `read Lease ${this.name}`);
    }
    try {
      if (!existing) {
        await this.kube.coordination.createNamespacedLease({
          namespace: this.namespace,
          body: { metadata: { name: this.name }, spec: this.spec(now, true) },
        });
      } else {
        if (existing.spec?.holderIdentity !== this.options.holder && !expired(existing, now))
          throw busy(existing.spec?.holderIdentity, deployment);
        // The resourceVersion makes two takers of an expired lease race safely: one gets 409.
        await this.kube.coordination.replaceNamespacedLease({
          namespace: this.namespace,
          name: this.name,
          body: { ...existing, spec: this.spec(now, true) },
        });
      }
      this.renewedAt = now.getTime();
    } catch (err) {
      if (err instanceof SandpiperError) throw err;
      if (httpCode(err) === 409) throw busy(undefined, deployment);
      throw kubeError(err, `take Lease ${this.name}`);
    }
  }

  private async renewOnce(): Promise<void> {
    const now = new Date();
    const existing = await this.kube.coordination.readNamespacedLease({ namespace: this.namespace, name: this.name });
    if (existing.spec?.holderIdentity !== this.options.holder)
      throw new TakenOver(`taken by ${existing.spec?.holderIdentity ?? 'nobody'}`);
    await this.kube.coordination.replaceNamespacedLease({
      namespace: this.namespace,
      name: this.name,
      body: { ...existing, spec: this.spec(now, false, existing) },
    });
    this.renewedAt = now.getTime();
  }

  /**
   * One failed renewal is not the end: the lease is still ours until it expires, so retry until then (a blip of
   * the API server must not leave a canary half-done). Give up one retry before expiry, so we stop acting
   * before anyone else may take it.
   */
  private async renewUntilExpiry(): Promise<void> {
    const expiresAt = this.renewedAt + this.options.durationSeconds * 1000;
    for (let attempt = 1; !this.released; attempt++) {
      try {
        await this.renewOnce();
        this.schedule(this.period);
        return;
      } catch (err) {
        if (this.released) return;
        if (err instanceof TakenOver) return this.lose(err.message);
        if (Date.now() + this.retryMs >= expiresAt) {
          const why = kubeError(err, `renew Lease ${this.name}`).message;
          return this.lose(`${attempt} renewal${attempt > 1 ? 's' : ''} failed before it expired; the last: ${why}`);
        }
        this.options.onRetry?.(err, attempt);
        await sleep(this.retryMs, this.stopped.signal);
      }
    }
  }

  private lose(why: string): void {
    clearTimeout(this.timer);
    this.lost.abort(new SandpiperError('canary-lease-lost', `Lost the lease of ${this.name}: ${why}`));
  }

  /** Gives the lease up at once so the next driver need not wait for it to expire. */
  async release(): Promise<void> {
    this.released = true;
    this.stopped.abort();
    clearTimeout(this.timer);
    if (this.lost.signal.aborted) return; // not ours any more, or unreachable: it expires by itself
    try {
      const existing = await this.kube.coordination.readNamespacedLease({ namespace: this.namespace, name: this.name });
      if (existing.spec?.holderIdentity === this.options.holder) {
        await this.kube.coordination.deleteNamespacedLease({ namespace: this.namespace, name: this.name });
      }
    } catch {
      // Gone already, or unreachable: it expires by itself.
    }
  }
}
