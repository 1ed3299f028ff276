import { registerCommand } from '../shared/commands';
import type { FeatureContext } from '../shared/featureContext';
import { EnvironmentLogChannel } from './environmentLogChannel';
import { environmentFor } from './environmentTarget';

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

  ctx.extension.subscriptions.push(
    registerCommand(ctx.log, 'sandpiper.env.openLogs', open),
    { dispose: () => channels.forEach((c) => c.dispose()) },
  );
}
