import * as os from 'node:os';
import type { Command } from 'commander';
import { runController } from '../../core/canary/controller';
import {
  controllerStatus,
  installController,
  uninstallController,
  type ControllerInstallOptions,
} from '../../core/canary/install';
import { CONTROLLER_NAME, CONTROLLER_NAMESPACE } from '../../core/canary/presence';
import { SandpiperError } from '../../core/errors';
import { loadKube } from '../../core/infra/kube/client';
import { PrometheusClient, prometheusUrl } from '../../core/infra/prometheus';
import { globals, kubeFor, printJson, type CliContext } from '../main';
import { parsedOption, wholeNumber } from '../options';

/** The port of the controller's /metrics and /healthz (the manifest's probes and scrape annotation name it). */
const METRICS_PORT = 9464;

interface InstallFlags {
  image?: string;
  prometheusUrl?: string;
  apiServer?: string;
  apiServerName?: string;
  leaseSeconds?: number;
  dryRun?: boolean;
  json?: boolean;
}

/**
 * Adds `controller install|uninstall|status|run`: the in-cluster canary controller (resources/canary-controller.yaml).
 * `run` is the command of its pod: the same image as the janitor's, the bundled CLI.
 */
export function registerControllerCommands(program: Command, cli: CliContext): void {
  const controller = program
    .command('controller')
    .description('the in-cluster canary controller: it drives canaries with no CLI or editor window open');
  const leaseSeconds = () =>
    parsedOption('--lease-seconds <s>', 'leader and canary lease duration (default 15)', wholeNumber(5, 300));

  controller
    .command('install')
    .description(`install or update it in ${CONTROLLER_NAMESPACE} (server-side apply, least-privilege RBAC)`)
    .option('--image <ref>', 'the CLI image by digest (resources/janitor.Dockerfile): <repository>@sha256:<digest>')
    .option('--prometheus-url <url>', 'Prometheus as seen from the pod (default: the manifest, prometheus-operated)')
    .option(
      '--api-server <url>',
      'https://host:port the pod dials for the API server (default: the kubernetes Service)',
    )
    .option('--api-server-name <name>', "TLS server name of the API server's certificate (with --api-server)")
    .addOption(leaseSeconds())
    .option('--dry-run', 'have the API server validate everything and store nothing')
    .option('--json', 'print the applied objects as JSON')
    .action(async (o: InstallFlags, cmd: Command) => {
      if (!o.image)
        throw new SandpiperError(
          'usage',
          'Say which image the controller runs: --image <repository>@sha256:<digest>.',
          'Build and push the CLI image: npm run build, then docker build -f resources/janitor.Dockerfile ' +
            '-t <registry>/sandpiper/cli:<version> . and docker push; the push prints the digest.',
        );
      const options: ControllerInstallOptions = {
        image: o.image,
        prometheusUrl: o.prometheusUrl,
        apiServer: o.apiServer,
        apiServerName: o.apiServerName,
        leaseSeconds: o.leaseSeconds,
      };
      const applied = await installController(kubeFor(cmd), options, { dryRun: o.dryRun });
      if (o.json) return printJson({ dryRun: !!o.dryRun, applied });
      const verb = o.dryRun ? 'accepted (dry run)' : 'applied';
      for (const a of applied)
        process.stdout.write(`${a.skipped ? `not checked (${a.skipped})` : verb}: ${a.kind} ${a.name}\n`);
      if (!o.dryRun)
        process.stdout.write(
          `The controller starts in ${CONTROLLER_NAMESPACE}; \`sandpiper controller status\` says when it leads.\n`,
        );
    });

  controller
    .command('uninstall')
    .description('remove it (Deployment, RBAC, its Lease; the namespace when nothing else is in it)')
    .action(async (_o: unknown, cmd: Command) => {
      const deleted = await uninstallController(kubeFor(cmd), { signal: cli.interruptSignal() });
      process.stdout.write(deleted.length ? `deleted: ${deleted.join(', ')}\n` : 'it was not installed\n');
    });

  controller
    .command('status')
    .description('whether it is installed, ready, and which pod leads')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const s = await controllerStatus(kubeFor(cmd));
      if (o.json) return printJson(s);
      if (!s.installed) {
        process.stdout.write(`not installed (no Deployment ${CONTROLLER_NAMESPACE}/${CONTROLLER_NAME})\n`);
        return;
      }
      process.stdout.write(
        `installed: ${s.readyReplicas}/${s.replicas} ready, image ${s.image}\n` +
          `leader: ${s.leader ?? 'none (no replica holds the leader Lease: clients drive their canaries)'}\n`,
      );
    });

  controller
    .command('run')
    .description("run the controller in this process (the pod's command); stops on SIGTERM")
    .addOption(leaseSeconds())
    .action(async (o: { leaseSeconds?: number }, cmd: Command) => {
      const g = globals(cmd);
      // In the pod: no kubeconfig, so the ServiceAccount's token and the kubernetes Service (or the install's
      // KUBERNETES_SERVICE_HOST/PORT); the API server's certificate may name another host than the one dialled.
      const kube = loadKube({
        kubeconfig: g.kubeconfig,
        context: g.context,
        tlsServerName: process.env.SANDPIPER_KUBE_TLS_SERVER_NAME || undefined,
      });
      const signal = cli.interruptSignal();
      const log = (m: string) => process.stdout.write(`${new Date().toISOString()} ${m}\n`);
      const holder = process.env.POD_NAME || os.hostname();
      log(`controller ${holder}: API server ${kube.server}, Prometheus ${prometheusUrl()}`);
      await runController({
        kube,
        metrics: new PrometheusClient(prometheusUrl()),
        holder,
        leaseSeconds: o.leaseSeconds,
        metricsPort: METRICS_PORT,
        log,
        signal,
      });
      log('controller stopped');
    });
}
