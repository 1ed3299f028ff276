import type { V1Deployment } from '@kubernetes/client-node';
import { SandpiperError, presentError, sleep } from '../errors';
import type { Kube } from '../infra/kube/client';
import { kubeError } from '../infra/kube/errors';
import type { MetricsSource } from '../infra/prometheus';
import { ListWatcher, apiSource, listed, type Change, type ListWatchSource } from '../infra/kube/watch';
import { EventRecorder, type EventTarget } from './controllerEvents';
import { ControllerMetrics, serveMetrics, type Health } from './controllerMetrics';
import { DriveTask, wantsController, type Backoff, type TaskContext } from './controllerTask';
import { driveCanary, type DriverOptions } from './driver';
import { CanaryLease } from './lease';
import { captureCanaryLogs, notifyCanary } from './notify';
import { CONTROLLER_LEASE_KEY, CONTROLLER_NAMESPACE } from './presence';
import { readCanaryState, type CanaryState } from './state';

// The in-cluster canary controller: one replica at a time (the leader Lease) drives every canary handed to the
// controller, from the same annotation and with the same driver as the CLI and the editor. Everything it needs is
// in the annotation's spec, so it never reads sandpiper.yaml.

export interface ControllerOptions {
  kube: Kube;
  metrics: MetricsSource;
  /** This replica, e.g. the pod name. */
  holder: string;
  /** The controller's own namespace, for the leader lease (default sandpiper-system). */
  namespace?: string;
  /** Leader and canary leases (default 15). */
  leaseSeconds?: number;
  /** Port of /metrics and /healthz (default 9464; 0 = none). */
  metricsPort?: number;
  log?: (m: string) => void;
  /** Aborting stops driving (canaries stay as they are) and gives up the leader lease. */
  signal?: AbortSignal;
}

/** What unit tests replace: the cluster's Deployments, the driver, notifications, and the pauses. */
export interface ControllerSeams {
  deployments?: ListWatchSource<V1Deployment>;
  drive?: (o: DriverOptions) => Promise<CanaryState>;
  captureLogs?: typeof captureCanaryLogs;
  notify?: typeof notifyCanary;
  series?: ControllerMetrics;
  /** Told the metrics server's port once it listens. */
  onListening?: (port: number) => void;
  backoff?: Backoff;
  busyRetryMs?: number;
  /** A standby's pause between attempts at the leader lease. */
  standbyPollMs?: number;
  heartbeatMs?: number;
}

export interface ControllerHealth extends Health {
  holder: string;
  leader: boolean;
  /** The Deployment list+watch: synced, or failing while the API server is away. */
  watch: 'idle' | 'listing' | 'synced' | 'failing';
  /** The canaries this replica drives (namespace/deployment). */
  canaries: string[];
}

/** How long a stop waits for the drives to let go of their canary leases, and for notifications in flight. */
const STOP_WAIT_MS = 10_000;
const NOTIFY_WAIT_MS = 5_000;

/** Runs the controller until `signal` aborts: standby until it leads, then drives; back to standby if it loses. */
export async function runController(o: ControllerOptions): Promise<void> {
  await new CanaryController(o).run();
}

/** Every Deployment of the cluster, listed and watched (the controller reads its canaries' annotations). */
export function allDeployments(kube: Kube): ListWatchSource<V1Deployment> {
  return apiSource(kube.config, {
    path: '/apis/apps/v1/deployments',
    list: async () => {
      try {
        return listed(await kube.apps.listDeploymentForAllNamespaces());
      } catch (err) {
        throw kubeError(err, 'list the Deployments of every namespace');
      }
    },
  });
}

export class CanaryController {
  private readonly tasks = new Map<string, DriveTask>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly log: (m: string) => void;
  private readonly signal: AbortSignal;
  private readonly series: ControllerMetrics;
  private readonly events: EventRecorder;
  private readonly leaseSeconds: number;
  private readonly heartbeatMs: number;
  private leading = false;
  private running = false;
  private beat = Date.now();
  private watch: ControllerHealth['watch'] = 'idle';
  private invalid = new Map<string, string>();

  constructor(
    private readonly o: ControllerOptions,
    private readonly seams: ControllerSeams = {},
  ) {
    this.log = o.log ?? (() => undefined);
    this.signal = o.signal ?? new AbortController().signal;
    this.series = seams.series ?? new ControllerMetrics();
    this.events = new EventRecorder(o.kube, o.holder, this.log);
    this.leaseSeconds = o.leaseSeconds ?? 15;
    this.heartbeatMs = seams.heartbeatMs ?? 5000;
  }

  /** For /healthz: alive while the loop beats (standby polls, leader heartbeats). */
  health(now = Date.now()): ControllerHealth {
    const stale = now - this.beat > Math.max(60_000, 4 * this.heartbeatMs);
    return {
      ok: this.running && !stale,
      holder: this.o.holder,
      leader: this.leading,
      watch: this.watch,
      canaries: [...this.tasks.keys()],
    };
  }

  async run(): Promise<void> {
    this.running = true;
    const port = this.o.metricsPort ?? 9464;
    const server = port
      ? await serveMetrics(this.series, { port, health: () => this.health(), log: this.log })
      : undefined;
    if (server) this.seams.onListening?.(server.port);
    try {
      while (!this.signal.aborted) {
        const lease = await this.standby();
        if (!lease) break;
        try {
          await this.lead(lease);
        } finally {
          this.leading = false;
          this.series.setLeader(false);
          await lease.release();
        }
      }
    } finally {
      this.running = false;
      await this.settleNotifications();
      this.series.dispose();
      await server?.close();
    }
  }

  /** Polls for the leader lease; undefined when stopped first. */
  private async standby(): Promise<CanaryLease | undefined> {
    const backoff = this.seams.backoff ?? { initialMs: 1000, maxMs: 15_000 };
    const namespace = this.o.namespace ?? CONTROLLER_NAMESPACE;
    let delay = backoff.initialMs;
    let leader = '';
    while (!this.signal.aborted) {
      this.beat = Date.now();
      try {
        return await CanaryLease.acquire(this.o.kube, namespace, CONTROLLER_LEASE_KEY, {
          holder: this.o.holder,
          durationSeconds: this.leaseSeconds,
          onRetry: (err) => this.log(`Renewing the leader lease failed, retrying: ${presentError(err).message}`),
        });
      } catch (err) {
        if (err instanceof SandpiperError && err.code === 'canary-busy') {
          if (err.message !== leader) this.log(`Standby: ${err.message}`);
          leader = err.message;
          delay = backoff.initialMs;
          await sleep(this.seams.standbyPollMs ?? 2000, this.signal);
          continue;
        }
        this.log(`Cannot take the leader lease: ${presentError(err).message} Retrying in ${delay / 1000} s.`);
        await sleep(delay, this.signal);
        delay = Math.min(backoff.maxMs, delay * 2);
      }
    }
    return undefined;
  }

  /** Drives canaries until stopped or the lease is lost, then lets go of all of them. */
  private async lead(lease: CanaryLease): Promise<void> {
    const stop = AbortSignal.any([this.signal, lease.lostSignal]);
    this.leading = true;
    this.series.setLeader(true);
    this.log(`${this.o.holder} leads: driving the canaries handed to the controller.`);
    const ctx = this.taskContext();
    const watcher = new ListWatcher<V1Deployment>(this.seams.deployments ?? allDeployments(this.o.kube), {
      onChanges: (changes) => changes.forEach((c) => this.reconcile(c, ctx, stop)),
      onSynced: () => (this.watch = 'synced'),
      onError: (err, failures) => {
        this.watch = 'failing';
        this.log(`Watching Deployments failed (${failures} in a row): ${presentError(err).message}`);
      },
      backoff: this.seams.backoff ?? { initialMs: 1000, maxMs: 15_000 },
      // A relist now and then heals anything a watch missed (the drives re-read the state themselves anyway).
      resyncMs: 5 * 60_000,
    });
    this.watch = 'listing';
    watcher.start().catch((err: unknown) => {
      this.watch = 'failing';
      this.log(`Listing Deployments failed: ${presentError(err).message} Retrying.`);
    });
    while (!stop.aborted) {
      this.beat = Date.now();
      await sleep(this.heartbeatMs, stop);
    }
    watcher.stop();
    this.watch = 'idle';
    if (lease.lostSignal.aborted && !this.signal.aborted)
      this.log(`${presentError(lease.lostSignal.reason).message}: back to standby, driving nothing.`);
    await this.stopTasks();
  }

  private taskContext(): TaskContext {
    return {
      kube: this.o.kube,
      metrics: this.o.metrics,
      holder: `controller/${this.o.holder}`,
      leaseSeconds: this.leaseSeconds,
      drive: this.seams.drive ?? driveCanary,
      captureLogs: this.seams.captureLogs ?? captureCanaryLogs,
      notify: this.seams.notify ?? notifyCanary,
      events: this.events,
      series: this.series,
      log: this.log,
      backoff: this.seams.backoff ?? { initialMs: 1000, maxMs: 15_000 },
      busyRetryMs: this.seams.busyRetryMs ?? 2000,
      background: (what, work) => this.background(what, work),
    };
  }

  /** One drive task per canary handed to the controller; the task itself decides when it is done. */
  private reconcile(change: Change<V1Deployment>, ctx: TaskContext, stop: AbortSignal): void {
    const d = change.object;
    const target: EventTarget = {
      namespace: d.metadata?.namespace ?? '',
      name: d.metadata?.name ?? '',
      uid: d.metadata?.uid,
    };
    const key = `${target.namespace}/${target.name}`;
    const task = this.tasks.get(key);
    if (change.type === 'DELETED') {
      this.invalid.delete(key);
      task?.stop();
      return;
    }
    let state: CanaryState | undefined;
    try {
      state = readCanaryState(d.metadata?.annotations);
      this.invalid.delete(key);
    } catch (err) {
      // Said once per annotation text, not on every change of the Deployment.
      const text = d.metadata?.annotations?.['sandpiper.dev/canary'] ?? '';
      if (this.invalid.get(key) !== text) this.log(`${key}: ${presentError(err).message}`);
      this.invalid.set(key, text);
      return;
    }
    if (task) return task.update(target, state);
    if (stop.aborted || !wantsController(state)) return;
    const started = new DriveTask(ctx, target, state, stop);
    this.tasks.set(key, started);
    void started.done.finally(() => {
      if (this.tasks.get(key) === started) this.tasks.delete(key);
    });
  }

  /** Ends every drive (their canaries stay as they are) and waits, a bounded time, for their leases' release. */
  private async stopTasks(): Promise<void> {
    const tasks = [...this.tasks.values()];
    for (const t of tasks) t.stop();
    await waitAtMost(Promise.all(tasks.map((t) => t.done)), STOP_WAIT_MS);
    for (const t of tasks) {
      const [namespace, name] = t.key.split('/');
      this.series.ended(namespace, name);
    }
    this.tasks.clear();
  }

  private background(what: string, work: () => Promise<unknown>): void {
    const p = work()
      .catch((err: unknown) => this.log(`${what} failed: ${presentError(err).message}`))
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** Notifications in flight get a few seconds before the process exits; never longer. */
  private async settleNotifications(): Promise<void> {
    if (this.pending.size) await waitAtMost(Promise.allSettled([...this.pending]), NOTIFY_WAIT_MS);
  }
}

async function waitAtMost(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
