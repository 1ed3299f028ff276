import type * as vscode from 'vscode';
import type { ActiveEnvironmentState } from './activeEnvironment';
import type { ClusterAccess } from './cluster';

/** What every feature gets from activation: the extension's lifetime, its log, the cluster and the active env. */
export interface FeatureContext {
  extension: vscode.ExtensionContext;
  log: vscode.LogOutputChannel;
  cluster: ClusterAccess;
  environments: ActiveEnvironmentState;
}
