import type { Command } from 'commander';
import { SandpiperError } from '../../core/errors';
import { followEnvironmentLogs } from '../../core/logs/environmentLogs';
import { BatchedLogWriter } from '../../core/logs/format';
import { kubeFor } from '../main';

interface LogsOptions {
  service?: string;
  follow?: boolean;
  tail: string;
  json?: boolean;
}

/** An AbortSignal that fires on Ctrl+C or SIGTERM: a follow ends cleanly instead of being killed mid-write. */
export function interruptSignal(): { signal: AbortSignal; dispose(): void } {
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    signal: abort.signal,
    dispose: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

/** Adds `logs <env>`: every container of the env (or one service), prefixed by pod/container. */
export function registerLogsCommands(program: Command): void {
  program
    .command('logs')
    .description('Print (and with --follow, follow) the logs of every pod of an environment, prefixed by pod/container.')
    .argument('<env>', 'environment (namespace)')
    .option('-s, --service <name>', 'only the pods of this service')
    .option('-f, --follow', 'keep following; resumes after drops and restarts without losing or repeating lines')
    .option('--tail <n>', 'lines of history per container (-1: all)', '100')
    .option('--json', 'one JSON object per line: pod, container, timestamp, text')
    .action(async (env: string, o: LogsOptions, cmd: Command) => {
      const tail = Number(o.tail);
      if (!Number.isInteger(tail) || tail < -1) throw new SandpiperError('usage', `--tail "${o.tail}" is not a line count.`, 'Use a whole number, or -1 for all lines.');
      const kube = kubeFor(cmd);
      const interrupt = interruptSignal();
      const writer = new BatchedLogWriter({ append: (text) => process.stdout.write(text) });
      try {
        await followEnvironmentLogs({
          kube,
          namespace: env,
          service: o.service,
          follow: !!o.follow,
          tailLines: tail < 0 ? undefined : tail,
          signal: interrupt.signal,
          onLine: (record) => (o.json ? process.stdout.write(`${JSON.stringify(record)}\n`) : writer.write(record)),
          onNotice: (message) => process.stderr.write(`sandpiper: ${message}\n`),
        });
      } finally {
        writer.dispose();
        interrupt.dispose();
      }
    });
}
