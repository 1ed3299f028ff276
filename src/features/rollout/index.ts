import * as vscode from 'vscode';
import { SandpiperError, isCancellation } from '../../core/errors';
import { isLiveCanary } from '../../core/workloads/feed';
import type { WorkloadSummary } from '../../core/workloads/model';
import { type FeatureContext, pickService, workspaceConfig, workspaceConfigs } from '../shared/context';
import { registerCommand, showError } from '../shared/commands';
import { bindUriHandler, bindWebviewView } from '../shared/lazy';
import { RolloutPanel } from './panel';
import * as os from 'node:os';
import { DEFAULT_CANARY, type SandpiperConfig, type ServiceConfig } from '../../core/config/types';
import { buildServiceImage } from '../../core/build/pipeline';
import type { Kube } from '../../core/infra/kube/client';
import { runArgoAction, undoDeployment } from '../../core/workloads/actions';
import { overrideCanary, canaryState } from '../../core/canary/control';
import { liveDriver } from '../../core/canary/lease';
import { liveController } from '../../core/canary/presence';
import type { ActionMessage } from '../../protocol/rollout';
import { abortOn, driveInBackground, metricsSource, startAndDrive } from './driving';
import { openRolloutLink } from './uri';

/** Registers the rollout feature: the Rollouts panel, the start/promote/abort/skip commands and the link back. */
export function registerRollout(ctx: FeatureContext): void {
  const panel = new RolloutPanel(ctx);
  ctx.extension.subscriptions.push(
    panel,
    bindWebviewView(RolloutPanel.viewId, panel),
    bindUriHandler(rolloutUriHandler(panel, ctx.log)),
    registerCommand(ctx.log, 'sandpiper.rollout.start', () => startCommand(ctx, panel)),
    registerCommand(ctx.log, 'sandpiper.rollout.promote', () => overrideCommand(ctx, panel, 'promote')),
    registerCommand(ctx.log, 'sandpiper.rollout.abort', () => overrideCommand(ctx, panel, 'abort')),
    registerCommand(ctx.log, 'sandpiper.rollout.skipStep', () => overrideCommand(ctx, panel, 'skip')),
  );
}

/** vscode://sandpiper.sandpiper/rollout?namespace=…&deployment=… (a notification's link back) reveals it. */
function rolloutUriHandler(panel: RolloutPanel, log: vscode.LogOutputChannel): vscode.UriHandler {
  return {
    handleUri: async (uri) => {
      await openRolloutLink(uri, panel, {
        isTrusted: () => vscode.workspace.isTrusted,
        showError: (m) => void vscode.window.showErrorMessage(m),
        log,
      });
    },
  };
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

const PICK_TITLE = {
  promote: 'Promote which rollout?',
  abort: 'Abort which rollout?',
  skip: 'Skip the current step of which canary?',
} as const;

async function overrideCommand(
  ctx: FeatureContext,
  panel: RolloutPanel,
  action: 'promote' | 'abort' | 'skip',
): Promise<void> {
  const t = target(panel);
  // A step is skipped on built-in canaries only (an Argo Rollout's Promote advances one step).
  const live = t.workloads.filter((w) => isLiveCanary(w) && (action !== 'skip' || skippable(w)));
  if (!live.length)
    throw new SandpiperError(
      'no-canary',
      action === 'skip'
        ? `No built-in canary in ${t.namespace} has a step to skip.`
        : `No rollout in progress in ${t.namespace}.`,
      'Start one with "Sandpiper: Start Canary Rollout".',
    );
  const w = await pickWorkload(live, PICK_TITLE[action]);
  if (!w) return;
  ctx.environments.touch('rollout');
  await runWorkloadAction(t.kube, { action, kind: w.kind, namespace: w.namespace, name: w.name }, ctx.log);
}

/** A built-in canary still stepping (or paused at a step) can skip to the next one. */
export function skippable(w: WorkloadSummary): boolean {
  return w.kind === 'Deployment' && (w.canary?.status === 'progressing' || w.canary?.status === 'paused');
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
    if (m.action === 'skip')
      throw new SandpiperError('usage', 'Skip Step applies to built-in canaries; Promote advances an Argo Rollout.');
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
        const state = await canaryState(kube, m.namespace, m.name);
        // A canary handed to a running controller is picked up by it: only the resume is recorded.
        if (!(state?.driver === 'controller' && (await liveController(kube)))) {
          // Nobody drives it (stopped, or its driver lost the lease): this window takes it over, with the
          // settings the canary recorded (older canaries: sandpiper.yaml's).
          if (state?.driver === 'controller')
            void vscode.window.showInformationMessage(
              `The in-cluster controller that drove the canary of ${m.name} is not running: this window drives ` +
                'it now, and closing the window pauses it.',
            );
          const configs = await workspaceConfigs().catch(() => []);
          const service = configs.find((c) => m.name in c.services)?.services[m.name];
          const canary = state?.spec ? undefined : (service?.canary ?? DEFAULT_CANARY);
          void driveInBackground(kube, m.namespace, m.name, canary, metricsSource(), log, true).catch(
            (err: unknown) => void showError(log, err),
          );
          return true;
        }
      }
      await overrideCanary(kube, m.namespace, m.name, m.action, undefined, `vscode@${os.hostname()}`);
      return true;
    case 'skip':
      await overrideCanary(kube, m.namespace, m.name, 'skip', undefined, `vscode@${os.hostname()}`);
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
