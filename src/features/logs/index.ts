import { registerCommand } from '../shared/commands';
import type { FeatureContext } from '../shared/context';
import * as vscode from 'vscode';
import { presentError, SandpiperError } from '../../core/errors';
import { type Kube, MANAGED_BY, SANDPIPER } from '../../core/infra/kube/client';
import { kubeError } from '../../core/infra/kube/errors';
import { followEnvironmentLogs } from '../../core/logs/environmentLogs';
import { BatchedLogWriter } from '../../core/logs/format';

/** Registers the logs feature: "Open Logs" on an environment row and in the palette. */
export function registerLogs(ctx: FeatureContext): void {
  const channels = new Map<string, EnvironmentLogChannel>();

  const open = async (target?: unknown): Promise<string | undefined> => {
    const kube = ctx.environments.current?.kube ?? ctx.cluster.kube();
    const namespace = await environmentFor(target, ctx.environments.current?.namespace, kube, 'Sandpiper: Open Logs');
    if (!namespace) return undefined;
    let logs = channels.get(namespace);
    if (!logs || logs.stopped) {
      logs?.dispose();
      logs = new EnvironmentLogChannel(namespace, kube, () => ctx.environments.touch('logs'), ctx.log);
      channels.set(namespace, logs);
      // The active environment's session owns its log stream: switching or deleting it stops the follow.
      const env = ctx.environments.current;
      if (env?.namespace === namespace) env.session.add(logs);
    }
    ctx.environments.touch('logs');
    logs.channel.show(true);
    return logs.channel.name;
  };

  ctx.extension.subscriptions.push(registerCommand(ctx.log, 'sandpiper.env.openLogs', open), {
    dispose: () => channels.forEach((c) => c.dispose()),
  });
}

const TAIL_LINES = 200;
const TOUCH_EVERY_MS = 60_000;

/** "Sandpiper Logs: <env>": every container of the env followed into one LogOutputChannel until disposed. */
export class EnvironmentLogChannel implements vscode.Disposable {
  readonly channel: vscode.LogOutputChannel;
  private readonly abort = new AbortController();
  private readonly writer: BatchedLogWriter;
  private lastTouch = 0;
  readonly done: Promise<void>;

  constructor(
    readonly namespace: string,
    kube: Kube,
    private readonly onActivity: () => void,
    log: vscode.LogOutputChannel,
  ) {
    this.channel = vscode.window.createOutputChannel(`Sandpiper Logs: ${namespace}`, { log: true });
    this.writer = new BatchedLogWriter({
      append: (text) => {
        // A log channel makes each append one timestamped entry: a batch is one entry, without a blank line after it.
        this.channel.append(text.endsWith('\n') ? text.slice(0, -1) : text);
        this.touch();
      },
    });
    this.channel.info(`Following the logs of every pod in ${namespace} (last ${TAIL_LINES} lines each).`);
    this.done = followEnvironmentLogs({
      kube,
      namespace,
      follow: true,
      tailLines: TAIL_LINES,
      signal: this.abort.signal,
      onLine: (record) => this.writer.write(record),
      onNotice: (message) => this.channel.warn(message),
    }).catch((err) => {
      const { message, hint } = presentError(err);
      this.channel.error(`${message}${hint ? ` — ${hint}` : ''}`);
      log.error(`logs of ${namespace}: ${message}`);
    });
  }

  get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  /** Records activity at most once a minute: a chatty service must not hammer the namespace annotation. */
  private touch(): void {
    const now = Date.now();
    if (now - this.lastTouch < TOUCH_EVERY_MS) return;
    this.lastTouch = now;
    this.onActivity();
  }

  dispose(): void {
    if (this.abort.signal.aborted) return;
    this.abort.abort();
    this.writer.dispose();
    this.channel.dispose();
  }
}

/** The namespace a tree row or command argument names: `{ env: { name } }`, `{ namespace }`, `{ name }` or a string. */
export function namespaceOf(target: unknown): string | undefined {
  if (typeof target === 'string') return target || undefined;
  if (!target || typeof target !== 'object') return undefined;
  const t = target as { namespace?: unknown; name?: unknown; env?: { name?: unknown } };
  for (const value of [t.namespace, t.env?.name, t.name]) if (typeof value === 'string' && value) return value;
  return undefined;
}

/** The environment a command acts on: its argument, else the active one, else one the user picks. */
export async function environmentFor(
  target: unknown,
  active: string | undefined,
  kube: Kube,
  title: string,
): Promise<string | undefined> {
  const named = namespaceOf(target) ?? active;
  if (named) return named;
  let names: string[];
  try {
    names = (await kube.core.listNamespace({ labelSelector: `${MANAGED_BY}=${SANDPIPER}` })).items
      .map((n) => n.metadata?.name ?? '')
      .filter(Boolean);
  } catch (err) {
    throw kubeError(err, 'list the Sandpiper environments');
  }
  if (!names.length)
    throw new SandpiperError(
      'no-environment',
      'There are no Sandpiper environments on this cluster.',
      'Create one with "Sandpiper: Create Ephemeral Environment".',
    );
  return vscode.window.showQuickPick(names, { title, placeHolder: 'Environment' });
}
