import * as vscode from 'vscode';
import { parseDuration } from '../../core/config/duration';
import type { EnvironmentInfo } from '../../core/env/metadata';
import { describeExpiry } from '../../core/env/metadata';

const TIMER_MAX = 2 ** 31 - 1;

/**
 * Warns shortly before the active environment expires (setting sandpiper.expiryWarning), with an
 * Extend action; re-armed whenever the environments are reloaded (activity moves the expiry).
 */
export class ExpiryWarning implements vscode.Disposable {
  private timer?: NodeJS.Timeout;
  private warned = new Set<string>();

  constructor(private readonly extend: (namespace: string) => Thenable<unknown>) {}

  arm(env: EnvironmentInfo | undefined): void {
    clearTimeout(this.timer);
    if (!env?.expiresAt) return;
    const lead = parseDuration(vscode.workspace.getConfiguration('sandpiper').get<string>('expiryWarning') ?? '15m') ?? 15 * 60_000;
    const key = `${env.name}@${env.expiresAt.toISOString()}`;
    if (this.warned.has(key)) return;
    const delay = env.expiresAt.getTime() - lead - Date.now();
    this.timer = setTimeout(() => {
      this.warned.add(key);
      void vscode.window.showWarningMessage(`Environment ${env.name} ${describeExpiry(env.expiresAt)} and will then be deleted.`, 'Extend').then((choice) => {
        if (choice === 'Extend') void this.extend(env.name);
      });
    }, Math.min(Math.max(delay, 0), TIMER_MAX));
  }

  dispose(): void {
    clearTimeout(this.timer);
  }
}
