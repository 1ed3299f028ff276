import * as vscode from 'vscode';
import { SandpiperError, isCancellation, presentError } from '../../core/errors';
import { isLiveCanary } from '../../core/workloads/feed';
import type { WorkloadSummary } from '../../core/workloads/model';
import { type FeatureContext, pickService, workspaceConfig, workspaceConfigs, settings } from '../shared/context';
import { registerCommand, showError } from '../shared/commands';
import { bindWebviewView } from '../shared/lazy';
import { RolloutPanel } from './panel';
import * as os from 'node:os';
import { DEFAULT_CANARY, type CanaryConfig, type SandpiperConfig, type ServiceConfig } from '../../core/config/types';
import { buildServiceImage } from '../../core/build/pipeline';
import type { Kube } from '../../core/infra/kube/client';
import { PrometheusClient, prometheusUrl } from '../../core/infra/prometheus';
import { runArgoAction, undoDeployment } from '../../core/workloads/actions';
import { startCanary, overrideCanary } from '../../core/canary/control';
import { driveCanary } from '../../core/canary/driver';
import { liveDriver, takeOverHint } from '../../core/canary/lease';
import type { CanaryState } from '../../core/canary/state';
import type { ActionMessage } from '../../protocol/rollout';

/** Registers the rollout feature: the Rollouts panel and the start/promote/abort commands. */
export function registerRollout(ctx: FeatureContext): void {
  const panel = new RolloutPanel(ctx);
  ctx.extension.subscriptions.push(
    panel,
    bindWebviewView(RolloutPanel.viewId, panel),
    registerCommand(ctx.log, 'sandpiper.rollout.start', () => startCommand(ctx, panel)),
    registerCommand(ctx.log, 'sandpiper.rollout.promote', () => overrideCommand(ctx, panel, 'promote')),
    registerCommand(ctx.log, 'sandpiper.rollout.abort', () => overrideCommand(ctx, panel, 'abort')),
  );
}

function target(panel: RolloutPanel) {
  const t = panel.target;
  if (!t)
    throw new SandpiperError(
      'no-cluster',
      'The Rollouts panel has no cluster or namespace yet.',
      'Open the Rollouts view, or pick a context with "Sandpiper: Select Context".',
    );
  return t;
}

async function pickWorkload(workloads: WorkloadSummary[], title: string): Promise<WorkloadSummary | undefined> {
  if (workloads.length === 1) return workloads[0];
  const pick = await vscode.window.showQuickPick(
    workloads.map((w) => ({
      label: w.name,
      description: `${w.kind}${w.canary ? ` · canary ${w.canary.status} ${w.canary.weight}%` : ''}`,
      w,
    })),
    { title },
  );
  return pick?.w;
}

async function startCommand(ctx: FeatureContext, panel: RolloutPanel): Promise<void> {
  const t = target(panel);
  const config = await workspaceConfig({ title: 'Start a canary: which service folder?' });
  const service = await pickService(config, 'Start a canary of which service?');
  if (!service) return;
  const deployment = t.workloads.find((w) => w.kind === 'Deployment' && w.name === service.name);
  if (!deployment)
    throw new SandpiperError(
      'not-found',
      `No Deployment "${service.name}" in ${t.namespace}.`,
      'Deploy the service first, or pick the namespace that runs it.',
    );
  const image = await pickCanaryImage(config, service, deployment.images[0], ctx.log);
  if (!image) return;
  ctx.environments.touch('rollout');
  await startAndDrive(
    t.kube,
    t.namespace,
    service.name,
    image,
    service.canary ?? DEFAULT_CANARY,
    service.container,
    ctx.log,
  );
}

const BUILD_FROM_WORKSPACE = 'Build from workspace (default)';
const TYPE_IMAGE = 'Enter an image…';

/**
 * The canary's image: built from the workspace (the service's image.build, pinned by digest) by default, or one the
 * user types. Undefined when the user backs out or cancels the build.
 */
async function pickCanaryImage(
  config: SandpiperConfig,
  service: ServiceConfig,
  running: string | undefined,
  log: vscode.LogOutputChannel,
): Promise<string | undefined> {
  if (service.image?.build) {
    const pick = await vscode.window.showQuickPick(
      [
        {
          label: BUILD_FROM_WORKSPACE,
          detail: `Build ${service.name} from ${service.image.build.context} and push it`,
        },
        { label: TYPE_IMAGE, detail: 'Run an image that is already in a registry' },
      ],
      { title: `Canary image for ${service.name}`, ignoreFocusOut: true },
    );
    if (!pick) return undefined;
    if (pick.label === BUILD_FROM_WORKSPACE) return buildCanaryImage(config, service, log);
  }
  return vscode.window.showInputBox({
    title: `Canary image for ${service.name}`,
    value: service.image?.ref ?? running,
    prompt: 'The image the canary runs',
    ignoreFocusOut: true,
  });
}

async function buildCanaryImage(
  config: SandpiperConfig,
  service: ServiceConfig,
  log: vscode.LogOutputChannel,
): Promise<string | undefined> {
  try {
    const built = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Building ${service.name}`, cancellable: true },
      (progress, token) =>
        buildServiceImage(config, service, {
          signal: abortOn(token),
          onProgress: (_s, line) => {
            log.info(`[build ${service.name}] ${line}`);
            progress.report({ message: line.length > 120 ? `${line.slice(0, 117)}…` : line });
          },
        }),
    );
    return built.ref;
  } catch (err) {
    if (isCancellation(err)) return undefined;
    throw err;
  }
}

async function overrideCommand(ctx: FeatureContext, panel: RolloutPanel, action: 'promote' | 'abort'): Promise<void> {
  const t = target(panel);
  const live = t.workloads.filter(isLiveCanary);
  if (!live.length)
    throw new SandpiperError(
      'no-canary',
      `No rollout in progress in ${t.namespace}.`,
      'Start one with "Sandpiper: Start Canary Rollout".',
    );
  const w = await pickWorkload(live, action === 'promote' ? 'Promote which rollout?' : 'Abort which rollout?');
  if (!w) return;
  ctx.environments.touch('rollout');
  await runWorkloadAction(t.kube, { action, kind: w.kind, namespace: w.namespace, name: w.name }, ctx.log);
}

/** Canaries this window drives: it announces their end itself, so the panel does not announce them twice. */
export const drivenHere = new Set<string>();

export function metricsSource(): PrometheusClient {
  return new PrometheusClient(prometheusUrl(settings.prometheusUrl));
}

/** Runs one panel/palette action on a workload; Abort and Undo ask first. Returns false when the user declined. */
export async function runWorkloadAction(
  kube: Kube,
  m: Omit<ActionMessage, 'type'>,
  log: vscode.LogOutputChannel,
): Promise<boolean> {
  if (m.action === 'abort' || m.action === 'undo') {
    const what =
      m.action === 'abort'
        ? `Abort the rollout of ${m.name} and send all traffic back to stable?`
        : `Roll ${m.name} back to its previous revision?`;
    const yes = m.action === 'abort' ? 'Abort' : 'Undo';
    if ((await vscode.window.showWarningMessage(what, { modal: true }, yes)) !== yes) return false;
  }
  log.info(`rollout: ${m.action} ${m.kind} ${m.namespace}/${m.name}`);
  if (m.kind === 'Rollout') {
    await runArgoAction(kube, m.namespace, m.name, m.action);
    return true;
  }
  switch (m.action) {
    case 'promote':
    case 'promote-full':
      await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: `Promoting the canary of ${m.name}`,
          cancellable: true,
        },
        (_p, token) => overrideCanary(kube, m.namespace, m.name, 'promote', abortOn(token), `vscode@${os.hostname()}`),
      );
      return true;
    case 'abort':
      await overrideCanary(kube, m.namespace, m.name, 'abort', undefined, `vscode@${os.hostname()}`);
      return true;
    case 'resume':
      if (!(await liveDriver(kube, m.namespace, m.name))) {
        // Nobody drives it (stopped, or its driver lost the lease): this window takes it over.
        const service = (await workspaceConfigs().catch(() => [])).find((c) => m.name in c.services)?.services[m.name];
        void driveInBackground(
          kube,
          m.namespace,
          m.name,
          service?.canary ?? DEFAULT_CANARY,
          metricsSource(),
          log,
          true,
        ).catch((err: unknown) => void showError(log, err));
        return true;
      }
      await overrideCanary(kube, m.namespace, m.name, m.action, undefined, `vscode@${os.hostname()}`);
      return true;
    case 'pause':
      await overrideCanary(kube, m.namespace, m.name, m.action, undefined, `vscode@${os.hostname()}`);
      return true;
    case 'undo':
      await undoDeployment(kube, m.namespace, m.name);
      return true;
    case 'retry':
      throw new Error('Retry applies to Argo Rollouts; start a new canary for a Deployment.');
  }
}

export function abortOn(token: vscode.CancellationToken): AbortSignal {
  const c = new AbortController();
  token.onCancellationRequested(() => c.abort());
  return c.signal;
}

/** Starts a built-in canary and drives it with a cancellable progress notification; tells the user how it ended. */
export async function startAndDrive(
  kube: Kube,
  namespace: string,
  deployment: string,
  image: string,
  canary: CanaryConfig,
  container: string | undefined,
  log: vscode.LogOutputChannel,
): Promise<CanaryState | undefined> {
  const metrics = metricsSource();
  const state = await startCanary(kube, { namespace, deployment, image, container, canary });
  log.info(`rollout: canary of ${namespace}/${deployment} started with ${image} (${state.trafficMode})`);
  return driveInBackground(kube, namespace, deployment, canary, metrics, log);
}

export async function driveInBackground(
  kube: Kube,
  namespace: string,
  deployment: string,
  canary: CanaryConfig,
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
          service: deployment,
          analysis: canary.analysis,
          metrics,
          holder: `vscode@${os.hostname()}:${process.pid}`,
          signal: abortOn(token),
          resume,
          onEvent: (e) => {
            if (e.kind === 'state')
              progress.report({
                message: `${e.state.status}, step ${Math.min(e.state.stepIndex + 1, e.state.steps.length)}/${e.state.steps.length} at ${e.state.weight}%`,
              });
            else log.info(`rollout: analysis of ${deployment}: ${e.result.verdict} — ${e.result.summary}`);
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

async function announce(state: CanaryState, deployment: string, log: vscode.LogOutputChannel): Promise<void> {
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
