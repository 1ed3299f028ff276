import * as vscode from 'vscode';
import { SandpiperError } from '../../core/errors';
import { isLiveCanary } from '../../core/rollout/rolloutFeed';
import type { WorkloadSummary } from '../../core/rollout/types';
import type { FeatureContext } from '../shared/featureContext';
import { registerCommand } from '../shared/commands';
import { pickService, workspaceConfig } from '../shared/workspaceConfig';
import { DEFAULT_CANARY, runWorkloadAction, startAndDrive } from './rolloutActions';
import { RolloutPanel } from './rolloutPanel';

/** Registers the rollout feature: the Rollouts panel and the start/promote/abort commands. */
export function registerRollout(ctx: FeatureContext): void {
  const panel = new RolloutPanel(ctx);
  ctx.extension.subscriptions.push(
    panel,
    vscode.window.registerWebviewViewProvider(RolloutPanel.viewId, panel),
    registerCommand(ctx.log, 'sandpiper.rollout.start', () => startCommand(ctx, panel)),
    registerCommand(ctx.log, 'sandpiper.rollout.promote', () => overrideCommand(ctx, panel, 'promote')),
    registerCommand(ctx.log, 'sandpiper.rollout.abort', () => overrideCommand(ctx, panel, 'abort')),
  );
}

function target(panel: RolloutPanel) {
  const t = panel.target;
  if (!t) throw new SandpiperError('no-cluster', 'The Rollouts panel has no cluster or namespace yet.', 'Open the Rollouts view, or pick a context with "Sandpiper: Select Context".');
  return t;
}

async function pickWorkload(workloads: WorkloadSummary[], title: string): Promise<WorkloadSummary | undefined> {
  if (workloads.length === 1) return workloads[0];
  const pick = await vscode.window.showQuickPick(workloads.map((w) => ({ label: w.name, description: `${w.kind}${w.canary ? ` · canary ${w.canary.status} ${w.canary.weight}%` : ''}`, w })), { title });
  return pick?.w;
}

async function startCommand(ctx: FeatureContext, panel: RolloutPanel): Promise<void> {
  const t = target(panel);
  const config = await workspaceConfig();
  const service = await pickService(config, 'Start a canary of which service?');
  if (!service) return;
  const deployment = t.workloads.find((w) => w.kind === 'Deployment' && w.name === service.name);
  if (!deployment) throw new SandpiperError('not-found', `No Deployment "${service.name}" in ${t.namespace}.`, 'Deploy the service first, or pick the namespace that runs it.');
  const image = await vscode.window.showInputBox({ title: `Canary image for ${service.name}`, value: service.image?.ref ?? deployment.images[0], prompt: 'The image the canary runs', ignoreFocusOut: true });
  if (!image) return;
  ctx.environments.touch('rollout');
  await startAndDrive(t.kube, t.namespace, service.name, image, service.canary ?? DEFAULT_CANARY, service.container, ctx.log);
}

async function overrideCommand(ctx: FeatureContext, panel: RolloutPanel, action: 'promote' | 'abort'): Promise<void> {
  const t = target(panel);
  const live = t.workloads.filter(isLiveCanary);
  if (!live.length) throw new SandpiperError('no-canary', `No rollout in progress in ${t.namespace}.`, 'Start one with "Sandpiper: Start Canary Rollout".');
  const w = await pickWorkload(live, action === 'promote' ? 'Promote which rollout?' : 'Abort which rollout?');
  if (!w) return;
  ctx.environments.touch('rollout');
  await runWorkloadAction(t.kube, { action, kind: w.kind, namespace: w.namespace, name: w.name }, ctx.log);
}
