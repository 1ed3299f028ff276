import { SandpiperError, isCancellation, presentError, sleep } from '../errors';
import type { Kube } from '../infra/kube/client';
import { isConnectionFailure } from '../infra/kube/errors';
import type { MetricsSource } from '../infra/prometheus';
import type { ControllerMetrics } from './controllerMetrics';
import {
  decisionEvent,
  drivingEvent,
  failedEvent,
  transitionEvent,
  type EventRecorder,
  type EventTarget,
} from './controllerEvents';
import type { DriverEvent, DriverOptions } from './driver';
import type { captureCanaryLogs, notifyCanary } from './notify';
import { TERMINAL, type CanaryState } from './state';

// One canary driven by the controller: driveCanary run again and again until the canary ends, through API server
// restarts, another driver still holding the canary's lease (a hand-off from the CLI), and a paused canary.

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

export interface TaskContext {
  kube: Kube;
  metrics: MetricsSource;
  /** `controller/<pod>`: the holder of canary leases and the name in the canary's history. */
  holder: string;
  leaseSeconds: number;
  drive: (o: DriverOptions) => Promise<CanaryState>;
  captureLogs: typeof captureCanaryLogs;
  notify: typeof notifyCanary;
  events: EventRecorder;
  series: ControllerMetrics;
  log: (m: string) => void;
  /** Retries after a failure: 1 s doubling to 15 s. */
  backoff: Backoff;
  /** Retries while another driver holds the canary's lease. */
  busyRetryMs: number;
  /** Runs a notification beside the rollout, never awaited by it. */
  background: (what: string, work: () => Promise<unknown>) => void;
}

/** A canary the controller is to drive: in progress (paused included) and handed to the controller. */
export function wantsController(state: CanaryState | undefined): state is CanaryState {
  return !!state && !TERMINAL.has(state.status) && state.driver === 'controller';
}

/** Failures that go away by themselves (the API server or Prometheus restarting, a race): retried quietly. */
const TRANSIENT = new Set<string>([
  'unreachable',
  'api',
  'conflict',
  'cancelled',
  'canary-busy',
  'canary-lease-lost',
  'metrics-unreachable',
  'not-ready',
  'no-ready-pod',
  'rollout-timeout',
]);

/** A failure worth a Warning Event and a notification: retrying as is will not fix it (RBAC, a bad spec, …). */
export function isTerminalFailure(err: unknown): boolean {
  if (err instanceof SandpiperError) return !TRANSIENT.has(err.code);
  return !isConnectionFailure(err);
}

export class DriveTask {
  readonly done: Promise<void>;
  private readonly stopper = new AbortController();
  private readonly signal: AbortSignal;
  /** Started when the driver decides to abort, before finishAbort deletes the canary pods. */
  private logLines?: Promise<string[]>;
  private failuresReported = new Set<string>();
  private failureNotified = false;
  private drivingAnnounced = false;

  constructor(
    private readonly ctx: TaskContext,
    private target: EventTarget,
    private state: CanaryState,
    parent: AbortSignal,
  ) {
    this.signal = AbortSignal.any([parent, this.stopper.signal]);
    this.done = this.run().catch((err: unknown) => this.ctx.log(`${this.key}: ${presentError(err).message}`));
  }

  get key(): string {
    return `${this.target.namespace}/${this.target.name}`;
  }

  /** The latest state the watch saw; the task stops when a client took the canary over. */
  update(target: EventTarget, state: CanaryState | undefined): void {
    this.target = target;
    if (state) this.state = state;
    if (state?.driver === 'client' && !TERMINAL.has(state.status)) {
      this.ctx.log(`${this.key}: a client drives the canary now; the controller lets go of it.`);
      this.stop();
    }
  }

  /** Stops driving; the canary stays as it is (not paused) for whoever drives next. */
  stop(): void {
    this.stopper.abort();
  }

  private async run(): Promise<void> {
    const { backoff } = this.ctx;
    let delay = backoff.initialMs;
    let busyWith = '';
    while (!this.signal.aborted && wantsController(this.state)) {
      const started = Date.now();
      try {
        const end = await this.driveOnce();
        this.finished(end);
        return;
      } catch (err) {
        if (this.signal.aborted) return;
        const e = err instanceof SandpiperError ? err : undefined;
        if (e?.code === 'no-canary') return; // the state was removed: nothing left to drive
        if (e?.code === 'canary-busy') {
          if (e.message !== busyWith) this.ctx.log(`${this.key}: ${e.message} Waiting for its lease.`);
          busyWith = e.message;
          await sleep(this.ctx.busyRetryMs, this.signal);
          continue;
        }
        busyWith = '';
        // A drive that ran a while before failing is a new failure, not the next of a series.
        if (Date.now() - started > backoff.maxMs) delay = backoff.initialMs;
        const message = presentError(err).message;
        this.ctx.log(`${this.key}: ${message} Retrying in ${delay / 1000} s.`);
        if (!isCancellation(err) && isTerminalFailure(err)) this.failed(message);
        await sleep(delay, this.signal);
        delay = Math.min(backoff.maxMs, delay * 2);
      }
    }
  }

  private driveOnce(): Promise<CanaryState> {
    let before: CanaryState | undefined;
    let resumed = false;
    return this.ctx.drive({
      kube: this.ctx.kube,
      namespace: this.target.namespace,
      deployment: this.target.name,
      holder: this.ctx.holder,
      metrics: this.ctx.metrics,
      leaseSeconds: this.ctx.leaseSeconds,
      pauseOnLeaseLoss: false,
      signal: this.signal,
      onEvent: (e) => {
        // The driver's own work never fails for what we make of its events.
        try {
          before = this.onEvent(e, before, resumed);
          if (e.kind === 'decision') resumed = e.decision === 'resume';
          else if (e.kind === 'state') resumed = false;
        } catch (err) {
          this.ctx.log(`${this.key}: ${presentError(err).message}`);
        }
      },
    });
  }

  private onEvent(e: DriverEvent, before: CanaryState | undefined, resumed: boolean): CanaryState {
    this.state = e.state;
    this.ctx.series.observe(this.target.namespace, this.target.name, e);
    const record = (ev: ReturnType<typeof decisionEvent>) => void this.ctx.events.record(this.target, ev);
    if (e.kind === 'decision') {
      record(decisionEvent(e));
      if (e.decision === 'abort' && !this.logLines) {
        this.logLines = this.ctx
          .captureLogs(this.ctx.kube, this.target.namespace, this.target.name, 20, { log: this.ctx.log })
          .catch(() => []);
      }
    } else if (e.kind === 'state' && !TERMINAL.has(e.state.status)) {
      if (!this.drivingAnnounced) {
        this.drivingAnnounced = true;
        record(drivingEvent(e.state, this.ctx.holder));
      } else {
        const change = transitionEvent(before, e.state);
        // The driver's own resume already has its Event.
        if (change && !(resumed && change.reason === 'CanaryResumed')) record(change);
      }
    }
    return e.state;
  }

  /** The drive returned: the canary ended (or was already over when a late watch event started this task). */
  private finished(end: CanaryState): void {
    this.ctx.series.state(this.target.namespace, this.target.name, end);
    this.ctx.series.ended(this.target.namespace, this.target.name);
    this.ctx.events.forget(this.target);
    // Only a canary this task saw in progress is notified, so a duplicate task never notifies twice.
    if (!TERMINAL.has(end.status) || !this.drivingAnnounced) return;
    const outcome = end.status === 'promoted' ? 'promoted' : 'aborted';
    this.ctx.log(`${this.key}: ${outcome} (${end.reason ?? end.image}).`);
    const logLines = this.logLines;
    this.ctx.background(`the ${outcome} notification of ${this.key}`, async () =>
      this.ctx.notify(this.ctx.kube, {
        namespace: this.target.namespace,
        deployment: this.target.name,
        state: end,
        outcome,
        logLines: logLines ? await logLines : undefined,
        log: this.ctx.log,
      }),
    );
  }

  /** A failure retrying will not fix: a Warning Event per distinct message, one notification per canary. */
  private failed(message: string): void {
    if (!this.failuresReported.has(message)) {
      this.failuresReported.add(message);
      void this.ctx.events.record(this.target, failedEvent(message));
    }
    if (this.failureNotified) return;
    this.failureNotified = true;
    const state = this.state;
    this.ctx.background(`the failure notification of ${this.key}`, async () =>
      this.ctx.notify(this.ctx.kube, {
        namespace: this.target.namespace,
        deployment: this.target.name,
        state,
        outcome: 'failed',
        error: message,
        log: this.ctx.log,
      }),
    );
  }
}
