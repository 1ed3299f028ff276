import * as vscode from 'vscode';
import { showError } from '../shared/commands';
import { presentError } from '../../core/errors';
import type { Kube } from '../../core/infra/kube/client';
import { RolloutFeed, isLiveCanary, type FeedEvent } from '../../core/workloads/feed';
import {
  dispatchWebviewMessage,
  hostMessageOf,
  type ActionMessage,
  type DriverInfo,
  type HostMessage,
  type PanelState,
} from '../../protocol/rollout';
import type { FeatureContext } from '../shared/context';
import { runWorkloadAction } from './index';
import { announceRollback, drivenHere, handedOff, metricsSource } from './driving';
import { DriverWatch } from './drivers';
import * as crypto from 'node:crypto';

const PICKED_NAMESPACE = 'sandpiper.rollouts.namespace';

/**
 * The Rollouts sidebar view. The webview is thrown away when hidden (no retainContextWhenHidden): on show it
 * sends `ready` and gets the full state; between, watch changes arrive batched. Every message from it is validated.
 */
export class RolloutPanel implements vscode.WebviewViewProvider, vscode.Disposable {
  static readonly viewId = 'sandpiper.rollouts';
  private view?: vscode.WebviewView;
  private ready = false;
  private feed?: RolloutFeed;
  private feedKey = '';
  private notice?: string;
  private kube?: Kube;
  private namespace?: string;
  private readonly disposables: vscode.Disposable[] = [];
  /** A namespace picked while an environment is active (its baseline, say): shown until another one is activated. */
  private pickedOver?: { env: string; namespace: string };
  /** Last canary status per workload, to notice a rollback happening anywhere (another window, the CLI, Argo). */
  private readonly lastStatus = new Map<string, string>();
  private drivers?: DriverWatch;
  private driverInfo: Record<string, DriverInfo> = {};
  /** A rollout a link asked to show: revealed once the webview is ready. */
  private pendingReveal?: string;

  constructor(private readonly ctx: FeatureContext) {
    this.disposables.push(
      ctx.environments.onDidChange(() => void this.refresh()),
      ctx.cluster.onDidChange(() => void this.refresh()),
    );
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    this.ready = false;
    const assets = vscode.Uri.joinPath(this.ctx.extension.extensionUri, 'dist', 'webview');
    view.webview.options = { enableScripts: true, localResourceRoots: [assets] };
    view.webview.html = panelHtml(view.webview, assets, vscode.Uri.joinPath);
    view.webview.onDidReceiveMessage((raw) =>
      dispatchWebviewMessage(
        raw,
        { ready: () => this.onReady(), pickNamespace: () => this.pickNamespace(), action: (m) => this.onAction(m) },
        (reason) => this.ctx.log.warn(`rollout panel: ${reason}`),
      ).catch((err) => this.ctx.log.error(presentError(err).message)),
    );
    view.onDidChangeVisibility(() => {
      if (!view.visible) this.ready = false;
    });
    view.onDidDispose(() => {
      this.view = undefined;
      this.ready = false;
    });
    void this.refresh();
  }

  private async onReady(): Promise<void> {
    this.ready = true;
    this.post({ type: 'state', state: this.state() });
    if (this.pendingReveal) this.post({ type: 'reveal', key: this.pendingReveal });
    this.pendingReveal = undefined;
  }

  private state(): PanelState {
    return {
      namespace: this.namespace,
      context: this.kube?.contextName,
      workloads: this.feed?.workloads() ?? [],
      metrics: this.feed?.metrics() ?? {},
      analyses: {},
      drivers: this.driverInfo,
      notice: this.notice,
    };
  }

  private post(message: HostMessage): void {
    if (this.view && this.ready) void this.view.webview.postMessage(message);
  }

  /**
   * Follows the namespace picked while the active environment was active, else that environment's, else the one the
   * user picked, else the context's default.
   */
  async refresh(): Promise<void> {
    const env = this.ctx.environments.current;
    let kube: Kube;
    try {
      kube = env?.kube ?? this.ctx.cluster.kube();
    } catch (err) {
      this.stopFeed();
      this.notice = presentError(err).message;
      this.post({ type: 'state', state: this.state() });
      return;
    }
    const over = env && this.pickedOver?.env === env.namespace ? this.pickedOver.namespace : undefined;
    const namespace =
      over ??
      env?.namespace ??
      this.ctx.extension.workspaceState.get<string>(PICKED_NAMESPACE) ??
      kube.defaultNamespace;
    const key = `${kube.contextName}|${namespace}`;
    if (key === this.feedKey && this.feed) return;
    this.stopFeed();
    this.kube = kube;
    this.namespace = namespace;
    this.feedKey = key;
    this.notice = undefined;
    let metrics;
    try {
      metrics = metricsSource();
    } catch {
      this.notice = 'No Prometheus configured (sandpiper.prometheusUrl): canary charts are off.';
    }
    this.lastStatus.clear();
    const feed = new RolloutFeed({
      kube,
      namespace,
      metrics,
      onEvent: (e) => this.onFeedEvent(e),
      onError: (err) => this.ctx.log.warn(`rollout watch: ${presentError(err).message}`),
    });
    this.feed = feed;
    this.drivers = new DriverWatch(
      kube,
      namespace,
      (drivers) => {
        this.driverInfo = drivers;
        this.post({ type: 'drivers', drivers });
      },
      this.ctx.log,
    );
    try {
      await feed.start();
    } catch (err) {
      if (this.feed !== feed) return;
      this.notice = `Cannot watch ${namespace}: ${presentError(err).message}`;
      this.ctx.log.error(this.notice);
    }
    if (this.feed === feed) this.drivers?.update(feed.workloads());
    this.post({ type: 'state', state: this.state() });
  }

  private onFeedEvent(e: FeedEvent): void {
    if (e.kind === 'workloads') {
      // Promote/Abort are offered (menus, palette) only while a canary can be acted on.
      this.setLive(e.workloads.some(isLiveCanary));
      this.drivers?.update(e.workloads);
      for (const w of e.workloads) {
        const key = `${w.namespace}/${w.name}`;
        const now = w.canary?.status;
        const before = this.lastStatus.get(key);
        if (now) this.lastStatus.set(key, now);
        if (before && now === 'aborted' && before !== 'aborted' && !drivenHere.has(key))
          void announceRollback(w.name, w.canary?.message ?? 'aborted', this.ctx.log);
        // Handed to the controller from here: nobody else in this window says it is done.
        if (before && now === 'promoted' && before !== 'promoted' && handedOff.delete(key))
          void vscode.window.showInformationMessage(
            `Canary of ${w.name} promoted by the in-cluster controller: ${w.canary?.image ?? ''}.`,
          );
      }
    }
    this.post(hostMessageOf(e));
  }

  private setLive(live: boolean): void {
    void vscode.commands.executeCommand('setContext', 'sandpiper.rolloutLive', live);
  }

  private stopFeed(): void {
    this.setLive(false);
    this.feed?.dispose();
    this.feed = undefined;
    this.drivers?.dispose();
    this.drivers = undefined;
    this.driverInfo = {};
    this.feedKey = '';
  }

  async pickNamespace(): Promise<void> {
    const kube = this.ctx.environments.current?.kube ?? this.ctx.cluster.kube();
    const list = await kube.core.listNamespace();
    const pick = await vscode.window.showQuickPick(list.items.map((n) => n.metadata?.name ?? '').filter(Boolean), {
      title: 'Rollouts: namespace',
      placeHolder: this.namespace,
    });
    if (!pick) return;
    await this.ctx.extension.workspaceState.update(PICKED_NAMESPACE, pick);
    const env = this.ctx.environments.current;
    this.pickedOver = env ? { env: env.namespace, namespace: pick } : undefined;
    this.feedKey = '';
    await this.refresh();
  }

  /** Shows the Rollouts view on `namespace` and reveals the rollout (a link from a canary notification). */
  async reveal(namespace: string, deployment: string): Promise<void> {
    this.pendingReveal = `${namespace}/${deployment}`;
    if (namespace !== this.namespace) {
      // As if picked with Namespace…: kept for this workspace, over the active environment's until another one.
      await this.ctx.extension.workspaceState.update(PICKED_NAMESPACE, namespace);
      const env = this.ctx.environments.current;
      this.pickedOver = env ? { env: env.namespace, namespace } : undefined;
      this.feedKey = '';
    }
    await vscode.commands.executeCommand(`${RolloutPanel.viewId}.focus`);
    await this.refresh();
    if (this.ready && this.pendingReveal) {
      this.post({ type: 'reveal', key: this.pendingReveal });
      this.pendingReveal = undefined;
    }
    // The watch lists the namespace shortly after it starts: a name it never shows was mistyped or is gone.
    for (let i = 0; i < 20 && !this.feed?.workloads().some((w) => w.name === deployment); i++)
      await new Promise((resolve) => setTimeout(resolve, 250));
    if (this.namespace === namespace && !this.feed?.workloads().some((w) => w.name === deployment))
      void vscode.window.showWarningMessage(`No Deployment or Rollout "${deployment}" in ${namespace}.`);
  }

  private async onAction(m: ActionMessage): Promise<void> {
    if (!this.kube || m.namespace !== this.namespace) {
      this.ctx.log.warn(`rollout panel: ignored an action on ${m.namespace}/${m.name}, not the namespace shown`);
      return;
    }
    const key = `${m.namespace}/${m.name}`;
    this.post({ type: 'busy', key, busy: true });
    try {
      await runWorkloadAction(this.kube, m, this.ctx.log);
    } catch (err) {
      void showError(this.ctx.log, err, { lead: `${m.action} ${key}:` });
    } finally {
      this.post({ type: 'busy', key, busy: false });
    }
  }

  /** The namespace and cluster the panel shows, for the palette commands. */
  get target(): { kube: Kube; namespace: string; workloads: ReturnType<RolloutFeed['workloads']> } | undefined {
    return this.kube && this.namespace
      ? { kube: this.kube, namespace: this.namespace, workloads: this.feed?.workloads() ?? [] }
      : undefined;
  }

  dispose(): void {
    this.stopFeed();
    for (const d of this.disposables) d.dispose();
  }
}

/** The panel's page: a strict CSP (nothing but our nonce'd script and our styles from dist/webview), themed by VS Code's variables. */
export function panelHtml(
  webview: vscode.Webview,
  assets: vscode.Uri,
  joinPath: (base: vscode.Uri, ...parts: string[]) => vscode.Uri,
): string {
  const nonce = crypto.randomBytes(16).toString('base64');
  const script = webview.asWebviewUri(joinPath(assets, 'rollout.js'));
  const chartCss = webview.asWebviewUri(joinPath(assets, 'uPlot.min.css'));
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    // vscode-elements and uPlot set inline styles on their elements; nothing else is allowed in.
    `style-src ${webview.cspSource} 'unsafe-inline'`,
    `font-src ${webview.cspSource}`,
    `img-src ${webview.cspSource} data:`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${chartCss}">
<title>Rollouts</title>
</head>
<body>
<main id="app" aria-live="polite"><p>Loading rollouts…</p></main>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}
