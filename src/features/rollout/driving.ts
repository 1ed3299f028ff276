import * as vscode from 'vscode';
import * as os from 'node:os';
import { isCancellation, presentError } from '../../core/errors';
import type { CanaryConfig } from '../../core/config/types';
import type { Kube } from '../../core/infra/kube/client';
import { PrometheusClient, prometheusUrl } from '../../core/infra/prometheus';
import { startCanary } from '../../core/canary/control';
import { driveCanary } from '../../core/canary/driver';
import { chooseDriver } from '../../core/canary/handOff';
import { takeOverHint } from '../../core/canary/lease';
import type { CanaryState } from '../../core/canary/state';
import { settings } from '../shared/context';

// A canary started or resumed from this window: handed to the in-cluster controller when one runs (the window then
// only watches it in the panel), else driven here under a cancellable progress notification.

/** This window's name on the canary Lease it holds while it drives: the panel tells "driven by this window" by it. */
export const WINDOW_HOLDER = `vscode@${os.hostname()}:${process.pid}`;

/** Canaries this window drives: it announces their end itself, so the panel does not announce them twice. */
export const drivenHere = new Set<string>();
/** Canaries this window handed to the controller: the panel announces their promotion too. */
export const handedOff = new Set<string>();

export function metricsSource(): PrometheusClient {
  return new PrometheusClient(prometheusUrl(settings.prometheusUrl));
}

export function abortOn(token: vscode.CancellationToken): AbortSignal {
  const c = new AbortController();
  token.onCancellationRequested(() => c.abort());
  return c.signal;
}

/**
 * Starts a built-in canary. With a controller in the cluster it drives the canary and this returns once started;
 * without one this window drives it until it ends, and says that closing the window pauses it.
 */
export async function startAndDrive(
  kube: Kube,
  namespace: string,
  deployment: string,
  image: string,
  canary: CanaryConfig,
  container: string | undefined,
  log: vscode.LogOutputChannel,
): Promise<CanaryState | undefined> {
  const pick = await chooseDriver(kube, 'auto');
  // The client driver needs Prometheus here, checked before the canary is written; the controller has its own.
  const metrics = pick.driver === 'client' ? metricsSource() : undefined;
  const state = await startCanary(kube, { namespace, deployment, image, container, canary, driver: pick.driver });
  log.info(
    `rollout: canary of ${namespace}/${deployment} started with ${image} (${state.trafficMode}), ` +
      `driven by ${pick.driver === 'controller' ? `the in-cluster controller (${pick.controller})` : 'this window'}`,
  );
  if (pick.driver === 'controller') {
    handedOff.add(`${namespace}/${deployment}`);
    void vscode.window.showInformationMessage(
      `Canary of ${deployment} started: the in-cluster controller (${pick.controller}) drives it, ` +
        'whether or not this window stays open.',
    );
    return state;
  }
  // The panel says that this window drives it and that closing the window pauses it.
  return driveInBackground(kube, namespace, deployment, canary, metrics!, log);
}

/** Drives a canary from this window; without settings (`canary`) the driver reads those the canary recorded. */
export async function driveInBackground(
  kube: Kube,
  namespace: string,
  deployment: string,
  canary: CanaryConfig | undefined,
  metrics: PrometheusClient,
  log: vscode.LogOutputChannel,
  resume = false,
): Promise<CanaryState | undefined> {
  const key = `${namespace}/${deployment}`;
  drivenHere.add(key);
  try {
    const end = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Canary ${deployment}`, cancellable: true },
      (progress, token) =>
        driveCanary({
          kube,
          namespace,
          deployment,
          ...(canary ? { service: deployment, analysis: canary.analysis } : {}),
          metrics,
          holder: WINDOW_HOLDER,
          signal: abortOn(token),
          resume,
          onEvent: (e) => {
            if (e.kind === 'state')
              progress.report({
                message: `${e.state.status}, step ${Math.min(e.state.stepIndex + 1, e.state.steps.length)}/${e.state.steps.length} at ${e.state.weight}%`,
              });
            else if (e.kind === 'analysis')
              log.info(`rollout: analysis of ${deployment}: ${e.result.verdict} — ${e.result.summary}`);
          },
        }),
    );
    void announce(end, deployment, log);
    return end;
  } catch (err) {
    if (isCancellation(err)) {
      void vscode.window.showInformationMessage(
        `Stopped driving the canary of ${deployment}; it stays at its step. ${takeOverHint(deployment)}`,
      );
      return undefined;
    }
    throw err;
  } finally {
    drivenHere.delete(key);
  }
}

export async function announce(state: CanaryState, deployment: string, log: vscode.LogOutputChannel): Promise<void> {
  if (state.status === 'promoted') {
    void vscode.window.showInformationMessage(`Canary of ${deployment} promoted: ${state.image}.`);
    return;
  }
  await announceRollback(deployment, presentError(state.reason ?? 'aborted').message, log);
}

/** A rollback raises a notification leading to the panel and the log. */
export async function announceRollback(name: string, reason: string, log: vscode.LogOutputChannel): Promise<void> {
  log.warn(`rollout: ${name} rolled back: ${reason}`);
  const choice = await vscode.window.showWarningMessage(
    `Rollout of ${name} rolled back: ${reason}`,
    'Show Rollouts',
    'Show Logs',
  );
  if (choice === 'Show Rollouts') void vscode.commands.executeCommand('sandpiper.rollouts.focus');
  if (choice === 'Show Logs') log.show(true);
}
