import * as os from 'node:os';
import type { CanaryConfig } from '../../core/config/types';
import { SandpiperError, isCancellation, presentError } from '../../core/errors';
import type { Kube } from '../../core/infra/kube/client';
import { PrometheusClient, prometheusUrl } from '../../core/infra/prometheus';
import { driveCanary, type DriverEvent } from '../../core/canary/driver';
import { followCanary, type FollowEvent } from '../../core/canary/handOff';
import type { CanaryState } from '../../core/canary/state';
import { liveDriver } from '../../core/canary/lease';
import { liveController } from '../../core/canary/presence';
import { printJson } from '../main';

// How the CLI drives a canary itself, or follows one the in-cluster controller drives; both print the same lines
// and end the same way (exit 0 when promoted, 1 when rolled back).

export interface DriveOptions {
  namespace?: string;
  json?: boolean;
  prometheus?: string;
  service?: string;
  window?: string;
}

/** What the CLI says after a Ctrl+C while following: the canary is not ours to stop. */
export const STOPPED_FOLLOWING = 'Stopped following; the in-cluster controller keeps driving the canary.';

function stepText(s: CanaryState): string {
  return `${s.status} step ${Math.min(s.stepIndex + 1, s.steps.length)}/${s.steps.length} weight ${s.weight}%`;
}

function printDriverEvent(e: DriverEvent): void {
  if (e.kind === 'analysis') process.stderr.write(`· analysis ${e.result.verdict}: ${e.result.summary}\n`);
  else if (e.kind === 'state') process.stderr.write(`· ${stepText(e.state)}\n`);
}

/** One line per followed event, in the words the local driver uses (`· analysis pass: …`). */
export function followLine(e: FollowEvent): string {
  switch (e.kind) {
    case 'history':
      return `· ${e.entry.event}${e.entry.detail ? `: ${e.entry.detail}` : ''} (${stepText(e.state)})`;
    case 'analysis':
      return `· analysis ${e.analysis.verdict}: ${e.analysis.summary}`;
    case 'unreadable':
      return `· cannot read the canary (${presentError(e.error).message}); trying again every second`;
  }
}

/** Prints how it ended; a canary that was not promoted fails the command. */
export function reportEnd(deployment: string, end: CanaryState, json: boolean | undefined): void {
  if (json) printJson(end);
  else process.stdout.write(`canary of ${deployment}: ${end.status}${end.reason ? ` (${end.reason})` : ''}\n`);
  if (end.status !== 'promoted')
    throw new SandpiperError(
      'canary-rolled-back',
      `The canary of ${deployment} was rolled back: ${end.reason ?? end.status}.`,
      'Look at the analysis above; fix and start a new canary.',
    );
}

/** Drives until promotion or rollback; Ctrl+C stops driving and leaves the canary for `rollout continue`. */
export async function drive(
  kube: Kube,
  namespace: string,
  deployment: string,
  o: DriveOptions,
  canary: CanaryConfig | undefined,
  signal: AbortSignal,
  resume = false,
): Promise<void> {
  let lastState = '';
  const end = await driveCanary({
    kube,
    namespace,
    deployment,
    // Without settings of its own (a canary another client started) the driver reads the state's spec.
    ...(canary ? { service: deployment, analysis: canary.analysis } : {}),
    metrics: new PrometheusClient(prometheusUrl(o.prometheus)),
    holder: `cli@${os.hostname()}:${process.pid}`,
    window: o.window,
    signal,
    resume,
    onEvent: (e) => {
      const line = e.kind === 'state' ? `${e.state.status}/${e.state.stepIndex}` : '';
      if (e.kind === 'analysis' || (e.kind === 'state' && line !== lastState)) printDriverEvent(e);
      if (e.kind === 'state') lastState = line;
    },
  });
  reportEnd(deployment, end, o.json);
}

/**
 * Follows a canary the controller drives until it ends. Ctrl+C (or SIGTERM) only stops following: it says so and
 * returns, and the exit code is the signal's; the canary is left to the controller.
 */
export async function follow(
  kube: Kube,
  namespace: string,
  deployment: string,
  o: { json?: boolean },
  signal: AbortSignal,
  since?: CanaryState,
  write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<CanaryState | undefined> {
  let end: CanaryState;
  // A controller that stops (uninstalled, its pods failing) leaves the canary waiting at its step: say so once.
  let warned = false;
  const watchdog = setInterval(() => {
    void Promise.all([liveDriver(kube, namespace, deployment), liveController(kube)]).then(
      ([holder, controller]) => {
        if (!holder && !controller && !warned) write(nobodyDrives(deployment));
        warned = !holder && !controller;
      },
      () => undefined, // unreadable now: the follow loop says so
    );
  }, NOBODY_CHECK_MS);
  try {
    end = await followCanary({ kube, namespace, deployment, since, signal, onEvent: (e) => write(followLine(e)) });
  } catch (err) {
    if (!isCancellation(err)) throw err;
    write(STOPPED_FOLLOWING);
    return undefined;
  } finally {
    clearInterval(watchdog);
  }
  reportEnd(deployment, end, o.json);
  return end;
}

const NOBODY_CHECK_MS = 10_000;

export function nobodyDrives(deployment: string): string {
  return (
    '· nobody drives the canary now: the in-cluster controller is not running, so it waits at its step ' +
    `(\`sandpiper rollout resume ${deployment}\` drives it from here)`
  );
}

/** How to watch a canary handed off with --detach. */
export function followHint(deployment: string, namespace: string | undefined): string {
  return `Follow it with \`sandpiper rollout status ${deployment}${namespace ? ` -n ${namespace}` : ''} --watch\`.`;
}
