import type { Command } from 'commander';
import { defaultService, openableServices, ServiceForward } from '../../core/portforward/serviceForward';
import { kubeFor, optionalConfigFor, printJson, type CliContext } from '../main';
import { unlessAborted, untilAborted } from '../interrupt';
import { parsedOption, wholeNumber } from '../options';

interface OpenOptions {
  service?: string;
  port?: number;
  localPort?: number;
  json?: boolean;
}

/** Adds `open <env>`: forwards a service's HTTP port to 127.0.0.1, prints the URL, holds it until Ctrl+C. */
export function registerOpenCommands(program: Command, cli: CliContext): void {
  program
    .command('open')
    .description(
      "Forward a service's HTTP port to 127.0.0.1, print its URL and keep forwarding until Ctrl+C " +
        '(the forward follows the service to a replacement pod).',
    )
    .argument('<env>', 'environment (namespace)')
    .option('-s, --service <name>', 'service (default: the only one, else the one the environment was created for)')
    .addOption(
      parsedOption(
        '--port <n>',
        "HTTP port in the container (default: the service's port in sandpiper.yaml, else its first containerPort)",
        wholeNumber(1, 65535),
      ),
    )
    .addOption(parsedOption('--local-port <n>', 'local port (default: a free one)', wholeNumber(1, 65535)))
    .option('--json', 'print the forward as JSON')
    .action(async (env: string, o: OpenOptions, cmd: Command) => {
      const signal = cli.interruptSignal();
      const kube = kubeFor(cmd);
      const config = await optionalConfigFor(cmd);
      const service = o.service ?? defaultService(env, await unlessAborted(openableServices(kube, env), signal));
      const configured = config?.services[service];
      const forward = await unlessAborted(
        ServiceForward.open({
          kube,
          namespace: env,
          service,
          port: o.port ?? configured?.port,
          container: configured?.container,
          localPort: o.localPort,
          onEvent: (e) => {
            if (e.kind === 'pod-changed' && e.from) process.stderr.write(`sandpiper: now forwarding to pod ${e.to}\n`);
            if (e.kind === 'stream-error') process.stderr.write(`sandpiper: ${e.pod}: ${e.message}\n`);
          },
        }),
        signal,
      );
      try {
        if (o.json) printJson({ env, service, pod: forward.pod, remotePort: forward.remotePort, url: forward.url });
        else {
          process.stdout.write(`${forward.url}\n`);
          process.stderr.write(
            `sandpiper: ${service}:${forward.remotePort} in ${env} (pod ${forward.pod}) is at ${forward.url}; ` +
              'Ctrl+C stops.\n',
          );
        }
        await untilAborted(signal);
      } finally {
        await forward.dispose();
      }
    });
}
