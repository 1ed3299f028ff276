import * as vscode from 'vscode';
import type { FeatureContext } from '../shared/featureContext';
import { SandpiperDebugAdapterFactory } from './debugAdapterFactory';
import { SandpiperDebugConfigurationProvider } from './debugConfigurationProvider';

/** Registers the `sandpiper` debug type: configuration resolving and the adapter behind a port-forward. */
export function registerDebug(ctx: FeatureContext): void {
  const factory = new SandpiperDebugAdapterFactory(ctx);
  ctx.extension.subscriptions.push(
    vscode.debug.registerDebugConfigurationProvider('sandpiper', new SandpiperDebugConfigurationProvider(ctx)),
    vscode.debug.registerDebugAdapterDescriptorFactory('sandpiper', factory),
    factory,
  );
}
