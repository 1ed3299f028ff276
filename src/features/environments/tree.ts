import * as vscode from 'vscode';
import type { Disposable } from '../../core/disposable';
import { watchEnvironments, listEnvironments } from '../../core/env/lifecycle';
import { describeExpiry, type EnvironmentInfo } from '../../core/env/metadata';
import { presentError } from '../../core/errors';
import type { FeatureContext } from '../shared/context';

/** A row of the Environments view: an environment, or one of its services/dependencies beneath it. */
export type EnvironmentNode =
  | { kind: 'environment'; env: EnvironmentInfo }
  | { kind: 'part'; env: EnvironmentInfo; label: string; description: string }
  | { kind: 'message'; label: string; detail?: string };

/** Lists the Sandpiper environments of the current context, refreshed by a namespace watch. */
export class EnvironmentsTree implements vscode.TreeDataProvider<EnvironmentNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<EnvironmentNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private envs: EnvironmentInfo[] = [];
  private problem?: string;
  private watch?: Disposable;
  private refreshTimer?: NodeJS.Timeout;
  private started = false;
  private readonly loaded = new vscode.EventEmitter<EnvironmentInfo[]>();
  /** Fires after every reload, with the environments now shown. */
  readonly onDidLoad = this.loaded.event;

  constructor(private readonly ctx: FeatureContext) {
    // Granting trust (the only way out of Restricted Mode) lets the view ask again for its rows.
    ctx.extension.subscriptions.push(vscode.workspace.onDidGrantWorkspaceTrust(() => this.changed.fire(undefined)));
  }

  get environments(): readonly EnvironmentInfo[] {
    return this.envs;
  }

  /** Whether the last reload failed (then `environments` is empty for want of an answer, not of environments). */
  get failed(): boolean {
    return this.problem !== undefined;
  }

  /**
   * (Re)opens the watch on the chosen context: when the view first asks for its rows (not at activation, so
   * the Kubernetes client loads only once it is needed) and when the context changes.
   */
  restartWatch(): void {
    this.started = true;
    this.watch?.dispose();
    this.watch = undefined;
    try {
      const kube = this.ctx.cluster.kube();
      this.watch = watchEnvironments(
        kube,
        () => this.scheduleRefresh(),
        (err) => this.ctx.log.debug(`environments watch: ${presentError(err).message}`),
      );
    } catch (err) {
      this.problem = presentError(err).message;
    }
    void this.refresh();
  }

  /** Coalesces bursts of watch events (a create touches the namespace several times). */
  private scheduleRefresh(): void {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => void this.refresh(), 150);
  }

  async refresh(): Promise<EnvironmentInfo[]> {
    try {
      this.envs = await listEnvironments(this.ctx.cluster.kube());
      this.problem = undefined;
    } catch (err) {
      this.envs = [];
      this.problem = presentError(err).message;
    }
    void vscode.commands.executeCommand('setContext', 'sandpiper.hasEnvironments', this.envs.length > 0);
    this.changed.fire(undefined);
    this.loaded.fire(this.envs);
    return this.envs;
  }

  getTreeItem(node: EnvironmentNode): vscode.TreeItem {
    if (node.kind === 'message') {
      const item = new vscode.TreeItem(node.label);
      item.tooltip = node.detail;
      item.iconPath = new vscode.ThemeIcon('warning');
      item.contextValue = 'message';
      return item;
    }
    if (node.kind === 'part') {
      const item = new vscode.TreeItem(node.label);
      item.description = node.description;
      // Services can be opened in the browser; dependency rows cannot.
      item.contextValue = node.description.startsWith('service') ? 'environmentPart.service' : 'environmentPart';
      item.iconPath = new vscode.ThemeIcon(
        node.description.startsWith('service') ? 'server-process' : node.description === 'copy' ? 'copy' : 'link',
      );
      return item;
    }
    const { env } = node;
    const active = this.ctx.environments.current?.namespace === env.name;
    const item = new vscode.TreeItem(env.name, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `env:${env.name}`;
    item.description = `${env.owner} · ${env.branch} · ${describeExpiry(env.expiresAt)}${active ? ' · active' : ''}`;
    item.tooltip = new vscode.MarkdownString(
      [
        `**${env.name}**`,
        `owner: ${env.owner}`,
        `branch: ${env.branch}`,
        `status: ${env.phase}`,
        `baseline: ${env.baseline ?? '?'}`,
        describeExpiry(env.expiresAt),
      ].join('  \n'),
    );
    item.contextValue = active ? 'environment.active' : 'environment';
    item.iconPath = new vscode.ThemeIcon(env.phase === 'Terminating' ? 'loading~spin' : active ? 'vm-active' : 'vm');
    return item;
  }

  getChildren(node?: EnvironmentNode): EnvironmentNode[] {
    if (!node) {
      // Restricted Mode: no cluster traffic from an untrusted folder; the welcome view says why.
      if (!vscode.workspace.isTrusted) return [];
      if (!this.started) this.restartWatch();
      if (this.problem) return [{ kind: 'message', label: 'Cannot list environments', detail: this.problem }];
      return this.envs.map((env) => ({ kind: 'environment', env }));
    }
    if (node.kind !== 'environment') return [];
    const parts: EnvironmentNode[] = [];
    if (node.env.service) parts.push({ kind: 'part', env: node.env, label: node.env.service, description: 'service' });
    for (const [dep, mode] of Object.entries(node.env.dependencies))
      parts.push({ kind: 'part', env: node.env, label: dep, description: mode });
    return parts;
  }

  dispose(): void {
    clearTimeout(this.refreshTimer);
    this.watch?.dispose();
    this.changed.dispose();
    this.loaded.dispose();
  }
}
