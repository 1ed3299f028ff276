import * as vscode from 'vscode';
import { DisposableList } from '../../core/disposable';
import type { SandpiperConfig } from '../../core/config/types';
import type { Kube } from '../../core/kube/client';

/** The environment the editor works on, with the session that owns its watches, streams and forwards. */
export interface ActiveEnvironment {
  namespace: string;
  kube: Kube;
  config: SandpiperConfig;
  /** Disposed when another environment becomes active or this one is deleted. */
  session: DisposableList;
}

export class ActiveEnvironmentState implements vscode.Disposable {
  private env?: ActiveEnvironment;
  private readonly changed = new vscode.EventEmitter<ActiveEnvironment | undefined>();
  readonly onDidChange = this.changed.event;
  /** Set by the environments feature: records activity so a busy environment is not cleaned up. */
  activityRecorder?: (namespace: string, reason: string) => void;

  get current(): ActiveEnvironment | undefined {
    return this.env;
  }

  activate(namespace: string, kube: Kube, config: SandpiperConfig): ActiveEnvironment {
    if (this.env?.namespace === namespace && this.env.kube === kube) {
      this.env.config = config;
      return this.env;
    }
    this.env?.session.dispose();
    this.env = { namespace, kube, config, session: new DisposableList() };
    this.changed.fire(this.env);
    return this.env;
  }

  clear(namespace?: string): void {
    if (!this.env || (namespace && this.env.namespace !== namespace)) return;
    this.env.session.dispose();
    this.env = undefined;
    this.changed.fire(undefined);
  }

  touch(reason: string): void {
    if (this.env) this.activityRecorder?.(this.env.namespace, reason);
  }

  dispose(): void {
    this.env?.session.dispose();
    this.changed.dispose();
  }
}
