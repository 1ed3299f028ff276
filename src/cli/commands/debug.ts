import type { Command } from 'commander';
import { SandpiperError } from '../../core/errors';
import { PortForwarder } from '../../core/portforward/portForwarder';
import { configFor, kubeFor, printJson, type CliContext } from '../main';
import { unlessAborted, untilAborted } from '../interrupt';
import { parsedOption, wholeNumber } from '../options';
import { nodeAttachConfiguration, type NodeAttachConfiguration } from '../../debugAdapter/node/jsDebug';
import type { ServiceConfig } from '../../core/config/types';

interface DebugOptions {
  service?: string;
  port?: number;
  localPort?: number;
  json?: boolean;
}

/**
 * Adds `debug <env> --service s`: forwards the service's debug port to 127.0.0.1 until Ctrl+C. For Node it prints
 * how to attach: a launch.json configuration for VS Code's JavaScript debugger, or chrome://inspect.
 */
export function registerDebugCommands(program: Command, cli: CliContext): void {
  program
    .command('debug')
    .description(
      "Forward a service's debug port (from sandpiper.yaml) to 127.0.0.1 and keep forwarding until Ctrl+C; attach any debugger to it.",
    )
    .argument('<env>', 'environment (namespace)')
    .option('-s, --service <name>', 'service from sandpiper.yaml (default: the only one)')
    .addOption(
      parsedOption(
        '--port <n>',
        'debug port in the container (default: the service debug.port)',
        wholeNumber(1, 65535),
      ),
    )
    .addOption(parsedOption('--local-port <n>', 'local port (default: a free one)', wholeNumber(1, 65535)))
    .option('--json', 'print the forward as JSON')
    .action(async (env: string, o: DebugOptions, cmd: Command) => {
      const signal = cli.interruptSignal();
      const config = await configFor(cmd);
      const names = Object.keys(config.services);
      const name = o.service ?? (names.length === 1 ? names[0] : undefined);
      if (!name)
        throw new SandpiperError(
          'usage',
          `Which service? sandpiper.yaml has ${names.join(', ')}.`,
          'Pass --service <name>.',
        );
      const service = config.services[name];
      if (!service)
        throw new SandpiperError(
          'unknown-service',
          `sandpiper.yaml has no service "${name}".`,
          `Use one of: ${names.join(', ')}.`,
        );
      const remotePort = o.port ?? service.debug?.port;
      if (!remotePort)
        throw new SandpiperError(
          'no-debug-config',
          `Service "${name}" has no debug section in sandpiper.yaml.`,
          'Add `debug: { runtime: node, port: 9229, remoteRoot: /app }`, or pass --port.',
        );
      const forwarder = new PortForwarder({
        kube: kubeFor(cmd),
        namespace: env,
        service: name,
        remotePort,
        localPort: o.localPort,
      });
      forwarder.onEvent((e) => {
        if (e.kind === 'pod-changed') process.stderr.write(`sandpiper: forwarding to pod ${e.to}\n`);
        if (e.kind === 'stream-error') process.stderr.write(`sandpiper: ${e.pod}: ${e.message}\n`);
      });
      try {
        const localPort = await unlessAborted(forwarder.start(), signal);
        const attach = service.debug?.runtime === 'node' ? launchJsonAttach(service, env, localPort) : undefined;
        if (o.json)
          printJson({
            env,
            service: name,
            pod: forwarder.currentPod,
            remotePort,
            localPort,
            address: `127.0.0.1:${localPort}`,
            ...(attach ? { attach } : {}),
          });
        else {
          process.stdout.write(
            `Forwarding 127.0.0.1:${localPort} -> ${name}:${remotePort} in ${env} (pod ${forwarder.currentPod}). Attach your debugger there; Ctrl+C stops.\n`,
          );
          if (attach) process.stdout.write(nodeHowTo(attach));
        }
        await untilAborted(signal);
      } finally {
        await forwarder.dispose();
      }
    });
}

/** The js-debug attach for launch.json, the workspace folder being the one of sandpiper.yaml. */
function launchJsonAttach(service: ServiceConfig, env: string, port: number): NodeAttachConfiguration {
  const local = (service.debug?.localRoot ?? '.').replace(/^\.\/?/, '');
  return nodeAttachConfiguration({
    name: `Attach to ${service.name} (${env})`,
    port,
    localRoot: `\${workspaceFolder}${local ? `/${local}` : ''}`,
    remoteRoot: service.debug!.remoteRoot,
  });
}

function nodeHowTo(attach: NodeAttachConfiguration): string {
  const json = JSON.stringify(attach, null, 2).replace(/^/gm, '  ');
  return (
    `\nVS Code: add this configuration to .vscode/launch.json and start it (it re-attaches after restarts):\n${json}\n` +
    `Chrome: open chrome://inspect, Configure… add 127.0.0.1:${attach.port}, then "inspect" under Remote Target.\n`
  );
}
