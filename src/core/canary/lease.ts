import type { V1Lease } from '@kubernetes/client-node';
import { SandpiperError } from '../errors';
import { type Kube } from '../infra/kube/client';
import { httpCode, kubeError } from '../infra/kube/errors';

/** One driver per canary: a coordination.k8s.io Lease named after the stable Deployment. */
export interface LeaseOptions {
  holder: string;
  durationSeconds: number;
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

function busy(holder: string | undefined, deployment: string): SandpiperError {
  return new SandpiperError('canary-busy', `Another Sandpiper (${holder ?? 'unknown'}) is driving the canary of ${deployment}.`, 'Let it finish, or stop it; its lease expires a few seconds after it stops.');
}

export class CanaryLease {
  private timer?: NodeJS.Timeout;
  private lost = new AbortController();

  private constructor(
    private readonly kube: Kube,
    private readonly namespace: string,
    private readonly name: string,
    private readonly options: LeaseOptions,
  ) {}

  /** Aborted when a renewal fails: the driver must stop, someone else may take over. */
  get lostSignal(): AbortSignal {
    return this.lost.signal;
  }

  /** Takes the lease, or refuses with `canary-busy` when another holder's lease is still live. */
  static async acquire(kube: Kube, namespace: string, deployment: string, options: LeaseOptions): Promise<CanaryLease> {
    const lease = new CanaryLease(kube, namespace, leaseName(deployment), options);
    await lease.take(deployment);
    lease.timer = setInterval(() => void lease.renew(), (options.durationSeconds * 1000) / 3);
    lease.timer.unref?.();
    return lease;
  }

  private spec(now: Date, acquire: boolean, existing?: V1Lease) {
    return {
      holderIdentity: this.options.holder,
      leaseDurationSeconds: this.options.durationSeconds,
      acquireTime: acquire ? microTime(now) : existing?.spec?.acquireTime ?? microTime(now),
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
        await this.kube.coordination.createNamespacedLease({ namespace: this.namespace, body: { metadata: { name: this.name }, spec: this.spec(now, true) } });
        return;
      }
      if (existing.spec?.holderIdentity !== this.options.holder && !expired(existing, now)) throw busy(existing.spec?.holderIdentity, deployment);
      // The resourceVersion makes two takers of an expired lease race safely: one gets 409.
      await this.kube.coordination.replaceNamespacedLease({ namespace: this.namespace, name: this.name, body: { ...existing, spec: this.spec(now, true) } });
    } catch (err) {
      if (err instanceof SandpiperError) throw err;
      if (httpCode(err) === 409) throw busy(undefined, deployment);
      throw kubeError(err, `take Lease ${this.name}`);
    }
  }

  private async renew(): Promise<void> {
    try {
      const existing = await this.kube.coordination.readNamespacedLease({ namespace: this.namespace, name: this.name });
      if (existing.spec?.holderIdentity !== this.options.holder) throw new Error('taken by another holder');
      await this.kube.coordination.replaceNamespacedLease({ namespace: this.namespace, name: this.name, body: { ...existing, spec: this.spec(new Date(), false, existing) } });
    } catch (err) {
      clearInterval(this.timer);
      this.lost.abort(new SandpiperError('canary-lease-lost', `Lost the lease of ${this.name}: ${(err as Error).message}`));
    }
  }

  /** Gives the lease up at once so the next driver need not wait for it to expire. */
  async release(): Promise<void> {
    clearInterval(this.timer);
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
