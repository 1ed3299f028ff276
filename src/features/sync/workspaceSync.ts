import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ServiceConfig } from '../../core/config/types';
import { presentError } from '../../core/errors';
import type { SyncStatus } from '../../core/sync/syncEngine';
import { SyncSession } from '../../core/sync/syncSession';
import type { ActiveEnvironment, FeatureContext } from '../shared/context';
import { showError } from '../shared/commands';
import type { SyncFileView, SyncStatusBar } from './index';

/** A watcher event this soon after a save of the same file is that save again: the save already carried it. */
const SAVE_ECHO_MS = 1500;

/** Live sync of the workspace into the active environment: one SyncSession per synced service. */
export class WorkspaceSync implements vscode.Disposable {
  private sessions: SyncSession[] = [];
  private subscriptions: vscode.Disposable[] = [];
  private readonly savedAt = new Map<string, number>();
  private paused = false;
  private lastTouch = 0;

  constructor(
    private readonly ctx: FeatureContext,
    private readonly view: SyncFileView,
    private readonly statusBar: SyncStatusBar,
  ) {}

  get running(): boolean {
    return this.sessions.length > 0;
  }

  get root(): string | undefined {
    return this.env?.config.root;
  }

  private env?: ActiveEnvironment;

  /** Starts syncing the services whose sync is automatic (or all, when asked by a command). */
  async start(env: ActiveEnvironment, services: ServiceConfig[]): Promise<void> {
    this.stop();
    this.env = env;
    env.session.add({ dispose: () => this.stop() });
    for (const service of services) {
      const session = new SyncSession({
        kube: env.kube,
        namespace: env.namespace,
        config: env.config,
        service,
        log: (line) => this.ctx.log.info(`[sync ${service.name}] ${line}`),
        onRebuild: (phase, detail) => {
          if (phase === 'failed')
            void showError(this.ctx.log, new Error(`Rebuild of ${service.name} failed: ${detail ?? ''}`));
        },
      });
      session.engine.on('file', (local, remote, state, detail) => this.view.record(local, remote, state, detail));
      session.engine.on('status', (s) => this.onStatus(s));
      if (this.paused) session.engine.pause();
      this.sessions.push(session);
    }
    this.watch(env.config.root);
    // Pause/Resume are offered (menus, palette) only while a sync runs.
    void vscode.commands.executeCommand('setContext', 'sandpiper.syncRunning', this.sessions.length > 0);
    await Promise.all(
      this.sessions.map((s) =>
        s.start().catch((err: unknown) => {
          this.statusBar.show({ state: 'error', files: 0, pods: 0, error: presentError(err).message });
          void showError(this.ctx.log, err, 'Retry').then((choice) => {
            if (choice === 'Retry' && this.env === env) void this.start(env, services);
          });
        }),
      ),
    );
  }

  private watch(root: string): void {
    const notify =
      (kind: 'change' | 'delete', at = Date.now()) =>
      (uri: vscode.Uri): void => {
        if (uri.scheme !== 'file') return;
        const local = uri.fsPath;
        if (kind === 'change' && at - (this.savedAt.get(local) ?? 0) < SAVE_ECHO_MS) return;
        for (const s of this.sessions) s.engine.notify({ local, kind, at });
      };
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(root), '**/*'));
    this.subscriptions.push(
      watcher,
      watcher.onDidCreate((u) => notify('change')(u)),
      watcher.onDidChange((u) => notify('change')(u)),
      watcher.onDidDelete((u) => notify('delete')(u)),
      // The save is the moment the user waits from; the watcher's echo of it comes later.
      vscode.workspace.onDidSaveTextDocument((doc) => {
        if (doc.uri.scheme !== 'file' || !doc.uri.fsPath.startsWith(root + path.sep)) return;
        const at = Date.now();
        for (const s of this.sessions) s.engine.notify({ local: doc.uri.fsPath, kind: 'change', at });
        this.savedAt.set(doc.uri.fsPath, at);
      }),
    );
  }

  private onStatus(s: SyncStatus): void {
    this.statusBar.show(s);
    if ((s.state === 'syncing' || s.state === 'rebuilding') && Date.now() - this.lastTouch > 10_000) {
      this.lastTouch = Date.now();
      this.ctx.environments.touch('sync');
    }
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    for (const s of this.sessions) {
      if (paused) s.engine.pause();
      else s.engine.resume();
    }
  }

  resync(): void {
    for (const s of this.sessions) s.engine.resync();
  }

  /** Resolves when every session is in step (tests use it through the resync command's result). */
  async idle(): Promise<void> {
    await Promise.all(this.sessions.map((s) => s.idle()));
  }

  stop(): void {
    for (const d of this.subscriptions) d.dispose();
    this.subscriptions = [];
    for (const s of this.sessions) s.dispose();
    this.sessions = [];
    this.env = undefined;
    this.statusBar.hide();
    void vscode.commands.executeCommand('setContext', 'sandpiper.syncRunning', false);
  }

  dispose(): void {
    this.stop();
  }
}
