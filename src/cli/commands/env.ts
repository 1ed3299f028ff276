import type { Command } from 'commander';
import { formatDuration, type DependencyMode } from '../../core/config/types';
import { SandpiperError } from '../../core/errors';
import { createEnvironment, EnvironmentCreateError } from '../../core/env/create';
import { identityFor } from '../../core/env/naming';
import { deleteEnvironment, extendEnvironment, listEnvironments, runJanitor } from '../../core/env/lifecycle';
import { describeExpiry, type EnvironmentInfo, type EnvironmentProgress } from '../../core/env/metadata';
import { configFor, kubeFor, printJson, type CliContext } from '../main';
import { unlessAborted } from '../interrupt';
import { durationMs, parsedOption } from '../options';
import { deployServices } from '../../core/env/deploy';
import { MANAGED_BY, SANDPIPER } from '../../core/infra/kube/client';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function printProgress(p: EnvironmentProgress): void {
  process.stderr.write(`${p.state === 'ready' ? '✓' : p.state === 'started' ? '…' : '·'} ${p.message}\n`);
}

export function environmentJson(e: EnvironmentInfo) {
  return {
    ...e,
    lastActivity: e.lastActivity?.toISOString(),
    expiresAt: e.expiresAt?.toISOString(),
    ttl: e.ttlMs ? formatDuration(e.ttlMs) : undefined,
  };
}

interface CreateOptions {
  service?: string;
  copy: string[];
  shared: string[];
  ttl?: number;
  namespace?: string;
  image?: string;
  owner?: string;
  branch?: string;
  keepOnFailure?: boolean;
  json?: boolean;
  timeout: number;
}

/** Adds `env create|list|delete|extend`. */
export function registerEnvCommands(program: Command, cli: CliContext): void {
  const env = program
    .command('env')
    .description('Ephemeral environments: your service plus its dependencies in a namespace of its own.');

  env
    .command('create')
    .description(
      'Create an environment for the service of this folder, with its dependencies shared from or copied out of the baseline.',
    )
    .option('-s, --service <name>', 'service from sandpiper.yaml (default: the only one)')
    .option('--copy <dependency>', 'copy this dependency from the baseline (repeatable)', collect, [])
    .option('--shared <dependency>', 'route this dependency to the baseline copy (repeatable)', collect, [])
    .addOption(
      parsedOption(
        '--ttl <duration>',
        'idle time before the janitor removes it (default: sandpiper.yaml ttl)',
        durationMs,
      ),
    )
    .option('-n, --namespace <name>', 'namespace name (default: from git owner and branch)')
    .option('--image <ref>', 'image to run instead of building the service (image.build) or the configured one')
    .option('--owner <owner>', 'owner (default: git config user.email)')
    .option('--branch <branch>', 'branch (default: the current git branch)')
    .addOption(parsedOption('--timeout <duration>', 'how long to wait for each step to become ready', durationMs, '3m'))
    .option('--keep-on-failure', 'keep a half-made environment for inspection instead of deleting it')
    .option('--json', 'print the result as JSON')
    .action(async (o: CreateOptions, cmd: Command) => {
      // Taken first: a Ctrl+C from here on deletes what was made (unless --keep-on-failure).
      const signal = cli.interruptSignal();
      const config = await configFor(cmd);
      const names = Object.keys(config.services);
      const service = o.service ?? (names.length === 1 ? names[0] : undefined);
      if (!service)
        throw new SandpiperError(
          'usage',
          `sandpiper.yaml has several services (${names.join(', ')}).`,
          'Pick one with --service.',
        );
      const modes: Record<string, DependencyMode> = {};
      for (const d of o.shared) modes[d] = 'shared';
      for (const d of o.copy) modes[d] = 'copy';
      const who = await identityFor(config.root, { owner: o.owner, branch: o.branch });
      const kube = kubeFor(cmd);
      try {
        const created = await createEnvironment(kube, config, {
          service,
          owner: who.owner,
          branch: who.branch,
          modes,
          namespace: o.namespace,
          image: o.image,
          ttlMs: o.ttl,
          timeoutMs: o.timeout,
          signal,
          progress: printProgress,
        });
        const info = (await listEnvironments(kube)).find((e) => e.name === created.namespace);
        if (o.json)
          printJson({
            ...(info ? environmentJson(info) : { name: created.namespace }),
            warnings: created.plan.warnings,
          });
        else process.stdout.write(`${created.namespace}\n`);
      } catch (err) {
        if (err instanceof EnvironmentCreateError && err.namespaceCreated) {
          if (o.keepOnFailure)
            process.stderr.write(
              `Kept ${err.namespace} for inspection (delete it with: sandpiper env delete ${err.namespace} --yes)\n`,
            );
          else {
            process.stderr.write(`Deleting the half-made environment ${err.namespace}\n`);
            await deleteEnvironment(kube, err.namespace).catch(() => undefined);
          }
        }
        throw err;
      }
    });

  env
    .command('list')
    .description('List the Sandpiper environments of the current context.')
    .option('--json', 'print as JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const envs = await listEnvironments(kubeFor(cmd));
      if (o.json) return printJson(envs.map(environmentJson));
      if (!envs.length) return void process.stderr.write('No Sandpiper environments.\n');
      process.stdout.write(
        table(
          ['NAME', 'OWNER', 'BRANCH', 'EXPIRES'],
          envs.map((e) => [e.name, e.owner, e.branch, describeExpiry(e.expiresAt)]),
        ),
      );
    });

  env
    .command('delete <name>')
    .description('Delete an environment (only namespaces Sandpiper created).')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--wait', 'wait until the namespace is gone')
    .action(async (name: string, o: { yes?: boolean; wait?: boolean }, cmd: Command) => {
      if (!o.yes && !(await confirm(`Delete environment ${name} and everything in it? [y/N] `)))
        throw new SandpiperError('cancelled', 'Cancelled.');
      const kube = kubeFor(cmd);
      // Without --wait it is one request, which Ctrl+C ends at once; with it, Ctrl+C stops the wait.
      const signal = o.wait ? cli.interruptSignal() : undefined;
      const gone = signal
        ? await unlessAborted(deleteEnvironment(kube, name, { wait: true, signal }), signal)
        : await deleteEnvironment(kube, name);
      if (!gone)
        throw new SandpiperError(
          'not-found',
          `There is no environment "${name}".`,
          'List them with `sandpiper env list`.',
        );
      process.stderr.write(`Deleted ${name}\n`);
    });

  env
    .command('extend <name>')
    .description('Push the expiry of an environment out.')
    .addOption(parsedOption('--by <duration>', 'how much longer to keep it', durationMs, '2h'))
    .option('--json', 'print the environment as JSON')
    .action(async (name: string, o: { by: number; json?: boolean }, cmd: Command) => {
      const info = await extendEnvironment(kubeFor(cmd), name, o.by);
      if (o.json) printJson(environmentJson(info));
      else process.stderr.write(`${name} ${describeExpiry(info.expiresAt)}\n`);
    });
}

/** Rows under a header, columns padded to their widest cell (the last one is not padded). */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [header, ...rows].map(line).join('\n') + '\n';
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY)
    throw new SandpiperError('usage', 'Refusing to delete without confirmation.', 'Pass --yes.');
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/** Adds `deploy`: the service(s) of this folder into a namespace, like `forge deploy`. */
export function registerDeployCommands(program: Command, cli: CliContext): void {
  program
    .command('deploy')
    .description(
      'Deploy the service(s) of this folder (server-side apply of their manifests) and wait until they are ready.',
    )
    .option('-n, --namespace <name>', "namespace (default: the context's namespace)")
    .option('-s, --service <name>', 'only this service (default: every service in sandpiper.yaml)')
    .option('--image <ref>', 'image to run instead of building it or the configured one (with --service)')
    .addOption(parsedOption('--timeout <duration>', 'how long to wait for readiness', durationMs, '3m'))
    .action(async (o: { namespace?: string; service?: string; image?: string; timeout: number }, cmd: Command) => {
      // What is applied stays applied on Ctrl+C (deploy is an apply); only the wait stops.
      const signal = cli.interruptSignal();
      const config = await configFor(cmd);
      const kube = kubeFor(cmd);
      const namespace = o.namespace ?? kube.defaultNamespace;
      const services = o.service ? [config.services[o.service]] : Object.values(config.services);
      if (services.some((s) => !s))
        throw new SandpiperError(
          'unknown-service',
          `sandpiper.yaml has no service "${o.service}".`,
          `Pick one of: ${Object.keys(config.services).join(', ')}.`,
        );
      if (o.image && services.length > 1)
        throw new SandpiperError('usage', '--image needs --service when the folder has several services.');
      // Every image is built first: a failed build applies nothing.
      await deployServices(kube, config, services, namespace, {
        image: o.image,
        labels: { [MANAGED_BY]: SANDPIPER },
        signal,
        progress: printProgress,
        timeoutMs: o.timeout,
      });
    });
}

/**
 * Adds `janitor`: deletes expired Sandpiper environments (also run in-cluster by resources/janitor-cronjob.yaml).
 * It does not take the interrupt: Ctrl+C ends it at once, and each deletion is one request, never half-done.
 */
export function registerJanitorCommands(program: Command): void {
  program
    .command('janitor')
    .description(
      'Delete Sandpiper environments whose TTL has passed since their last activity; never touches other namespaces.',
    )
    .option('--dry-run', 'only say what would be deleted')
    .option('--json', 'print the decisions as JSON')
    .action(async (o: { dryRun?: boolean; json?: boolean }, cmd: Command) => {
      const result = await runJanitor(kubeFor(cmd), { dryRun: o.dryRun });
      if (o.json) printJson({ dryRun: !!o.dryRun, ...result });
      else {
        for (const d of result.decisions) {
          const verb =
            d.action === 'delete'
              ? o.dryRun
                ? 'would delete'
                : result.deleted.includes(d.name)
                  ? 'deleted'
                  : 'failed to delete'
              : 'keep';
          process.stderr.write(`${verb} ${d.name} (${d.reason}${d.expiresAt ? `, expiry ${d.expiresAt}` : ''})\n`);
        }
      }
      if (result.errors.length)
        throw new SandpiperError(
          'janitor-failed',
          `Could not delete ${result.errors.map((e) => `${e.name}: ${e.message}`).join('; ')}`,
        );
    });
}
