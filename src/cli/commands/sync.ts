import * as path from 'node:path';
import { watch } from 'chokidar';
import type { Command } from 'commander';
import type { SandpiperConfig, ServiceConfig } from '../../core/config/types';
import { SandpiperError } from '../../core/errors';
import type { SyncStatus } from '../../core/sync/syncEngine';
import { SyncSession } from '../../core/sync/syncSession';
import { configFor, kubeFor, type CliContext } from '../main';
import { unlessAborted, untilAborted } from '../interrupt';

interface SyncOptions {
  service?: string;
  once?: boolean;
  json?: boolean;
}

/** Adds `sandpiper sync <env> [--service s] [--once]`. */
export function registerSyncCommands(program: Command, cli: CliContext): void {
  program
    .command('sync')
    .description('Copy the sync paths into the running pods of an environment and keep them in step as files change.')
    .argument('<env>', 'the environment (its namespace)')
    .option('-s, --service <name>', 'the service to sync (default: the only one with a sync section)')
    .option('--once', 'one full sync (only the files that differ), then exit')
    .option('--json', 'print events as JSON lines')
    .action(async (env: string, opts: SyncOptions, cmd: Command) => {
      const signal = cli.interruptSignal();
      const config = await configFor(cmd);
      const service = syncedService(config, opts.service);
      const print = (event: Record<string, unknown>, text: string): void => {
        process.stdout.write(opts.json ? `${JSON.stringify(event)}\n` : `${text}\n`);
      };
      const session = new SyncSession({
        kube: kubeFor(cmd),
        namespace: env,
        config,
        service,
        maxAttempts: opts.once ? 5 : undefined,
        log: (line) => print({ event: 'log', line }, line),
      });
      // The last word on each file: one that ends failed makes --once fail, even when the pods are in step.
      const fileStates = new Map<string, string>();
      session.engine.on('file', (local, remote, state, detail) => {
        fileStates.set(path.relative(config.root, local), state);
        if (state !== 'pending')
          print(
            { event: 'file', file: path.relative(config.root, local), remote, state, detail },
            `${state.padEnd(8)} ${path.relative(config.root, local)}${detail ? ` (${detail})` : ''}`,
          );
      });
      try {
        const workload = await unlessAborted(session.start(), signal);
        print(
          { event: 'started', deployment: workload.deployment, container: workload.container },
          `syncing ${service.name} into ${env}/${workload.deployment} (container ${workload.container})`,
        );
        if (opts.once) {
          await unlessAborted(session.idle(), signal);
          const status = session.engine.status;
          if (!status.pods)
            throw new SandpiperError(
              'sync-no-pods',
              `No ready pod of ${workload.deployment} in ${env} to sync into.`,
              'Wait for the rollout (sandpiper rollout status) and run it again.',
            );
          if (status.state === 'error') throw new SandpiperError('sync-failed', status.error ?? 'The sync failed.');
          const failed = [...fileStates].filter(([, state]) => state === 'failed').map(([file]) => file);
          if (failed.length) {
            const some = `${failed.slice(0, 5).join(', ')}${failed.length > 5 ? ', …' : ''}`;
            throw new SandpiperError(
              'sync-failed',
              `${failed.length} file(s) were not synced: ${some}.`,
              'The reasons are printed above.',
            );
          }
          print({ event: 'done', ...status }, `done: ${status.pods} pod(s) in step`);
          return;
        }
        await watchUntilInterrupted(session, config, signal, (s) =>
          print(
            { event: 'status', ...s },
            `${s.state}${s.files ? ` ${s.files} file(s)` : ''}${s.lastLatencyMs !== undefined ? ` · last ${s.lastLatencyMs} ms` : ''}`,
          ),
        );
      } finally {
        session.dispose();
      }
    });
}

function syncedService(config: SandpiperConfig, name?: string): ServiceConfig {
  if (name) {
    const s = config.services[name];
    if (!s)
      throw new SandpiperError(
        'unknown-service',
        `No service "${name}" in sandpiper.yaml.`,
        `Pick one of: ${Object.keys(config.services).join(', ')}.`,
      );
    return s;
  }
  const withSync = Object.values(config.services).filter((s) => s.sync);
  if (withSync.length !== 1)
    throw new SandpiperError(
      'unknown-service',
      withSync.length ? 'Several services have a sync section.' : 'No service has a sync section.',
      withSync.length ? 'Pick one with --service.' : 'Add sync: { paths, target } to a service in sandpiper.yaml.',
    );
  return withSync[0];
}

/** Feeds chokidar events to the engine until Ctrl+C. */
async function watchUntilInterrupted(
  session: SyncSession,
  config: SandpiperConfig,
  signal: AbortSignal,
  onStatus: (s: SyncStatus) => void,
): Promise<void> {
  const watcher = watch(config.root, {
    ignoreInitial: true,
    // .git churns on every commit and never travels.
    ignored: (p) => p.split(path.sep).includes('.git') || p.split(path.sep).includes('node_modules'),
    awaitWriteFinish: false,
  });
  const feed = (kind: 'change' | 'delete') => (file: string) =>
    session.engine.notify({ local: path.resolve(file), kind });
  watcher
    .on('add', feed('change'))
    .on('change', feed('change'))
    .on('unlink', feed('delete'))
    .on('unlinkDir', feed('delete'));
  let last = '';
  session.engine.on('status', (s) => {
    const key = `${s.state}/${s.files}/${s.lastLatencyMs}`;
    if (key !== last && s.state !== 'syncing') onStatus(s);
    last = key;
  });
  await untilAborted(signal);
  await watcher.close();
}
