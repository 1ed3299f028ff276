import type { Command } from 'commander';
import { SandpiperError } from '../../core/errors';
import { deployService } from '../../core/env/deploy';
import { parseDuration } from '../../core/config/duration';
import { MANAGED_BY, SANDPIPER } from '../../core/kube/client';
import { configFor, kubeFor } from '../options';
import { printProgress } from './env';

/** Adds `deploy`: the service(s) of this folder into a namespace, like `forge deploy`. */
export function registerDeployCommands(program: Command): void {
  program.command('deploy')
    .description('Deploy the service(s) of this folder (server-side apply of their manifests) and wait until they are ready.')
    .option('-n, --namespace <name>', "namespace (default: the context's namespace)")
    .option('-s, --service <name>', 'only this service (default: every service in sandpiper.yaml)')
    .option('--image <ref>', 'image to run instead of the configured one (with --service)')
    .option('--timeout <duration>', 'how long to wait for readiness', '3m')
    .action(async (o: { namespace?: string; service?: string; image?: string; timeout: string }, cmd: Command) => {
      const config = await configFor(cmd);
      const kube = kubeFor(cmd);
      const namespace = o.namespace ?? kube.defaultNamespace;
      const services = o.service ? [config.services[o.service]] : Object.values(config.services);
      if (services.some((s) => !s)) throw new SandpiperError('unknown-service', `sandpiper.yaml has no service "${o.service}".`, `Pick one of: ${Object.keys(config.services).join(', ')}.`);
      if (o.image && services.length > 1) throw new SandpiperError('usage', '--image needs --service when the folder has several services.');
      const abort = new AbortController();
      const onSignal = () => abort.abort();
      process.once('SIGINT', onSignal);
      try {
        for (const service of services) {
          await deployService(kube, config, service, namespace, {
            image: o.image, labels: { [MANAGED_BY]: SANDPIPER }, signal: abort.signal, progress: printProgress, timeoutMs: parseDuration(o.timeout) ?? 180_000,
          });
        }
      } finally {
        process.off('SIGINT', onSignal);
      }
    });
}
