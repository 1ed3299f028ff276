import type * as vscode from 'vscode';
import type { Kube } from '../../core/infra/kube/client';
import { canaryState } from '../../core/canary/control';
import { liveDriver } from '../../core/canary/lease';
import { liveController } from '../../core/canary/presence';
import { isLiveCanary } from '../../core/workloads/feed';
import type { WorkloadSummary } from '../../core/workloads/model';
import { whoDrives, type DriverInfo } from '../../protocol/rollout';
import { WINDOW_HOLDER } from './driving';

const POLL_MS = 5000;

/**
 * Who drives each live built-in canary of the panel's namespace: the canary's Lease holder, the driver its state
 * names and whether the controller runs. Leases are not watched (a renewal every few seconds would be a stream of
 * events), so it reads them every few seconds while a canary is live, and at once when the workloads change.
 */
export class DriverWatch implements vscode.Disposable {
  private canaries: WorkloadSummary[] = [];
  private shown = '';
  private timer?: NodeJS.Timeout;
  private running = false;
  private again = false;
  private disposed = false;

  constructor(
    private readonly kube: Kube,
    private readonly namespace: string,
    private readonly onChange: (drivers: Record<string, DriverInfo>) => void,
    private readonly log: Pick<vscode.LogOutputChannel, 'warn'>,
  ) {}

  update(workloads: WorkloadSummary[]): void {
    this.canaries = workloads.filter((w) => w.kind === 'Deployment' && isLiveCanary(w));
    void this.poll();
  }

  private async poll(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = true;
    try {
      const drivers = await this.read(this.canaries);
      const text = JSON.stringify(drivers);
      if (!this.disposed && text !== this.shown) {
        this.shown = text;
        this.onChange(drivers);
      }
    } catch (err) {
      this.log.warn(`rollout panel: who drives the canaries is unknown: ${(err as Error).message}`);
    } finally {
      this.running = false;
    }
    if (this.disposed) return;
    if (this.again) {
      this.again = false;
      void this.poll();
    } else if (this.canaries.length) {
      this.timer = setTimeout(() => void this.poll(), POLL_MS);
    }
  }

  private async read(canaries: WorkloadSummary[]): Promise<Record<string, DriverInfo>> {
    if (!canaries.length) return {};
    const controller = await liveController(this.kube);
    const drivers: Record<string, DriverInfo> = {};
    await Promise.all(
      canaries.map(async (w) => {
        // A canary whose Lease cannot be read is left out rather than shown as driven by nobody.
        let state, leaseHolder;
        try {
          [state, leaseHolder] = await Promise.all([
            canaryState(this.kube, this.namespace, w.name),
            liveDriver(this.kube, this.namespace, w.name),
          ]);
        } catch {
          return;
        }
        if (!state) return;
        drivers[`${this.namespace}/${w.name}`] = whoDrives({
          status: state.status,
          stateDriver: state.driver,
          controller,
          leaseHolder,
          self: WINDOW_HOLDER,
        });
      }),
    );
    return drivers;
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
  }
}
