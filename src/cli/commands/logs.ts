import type { Command } from 'commander';
import { followEnvironmentLogs } from '../../core/logs/environmentLogs';
import { BatchedLogWriter } from '../../core/logs/format';
import { kubeFor, type CliContext } from '../main';
import { unlessAborted } from '../interrupt';
import { parsedOption, wholeNumber } from '../options';

interface LogsOptions {
  service?: string;
  follow?: boolean;
  tail: number;
  json?: boolean;
}

/** Adds `logs <env>`: every container of the env (or one service), prefixed by pod/container. */
export function registerLogsCommands(program: Command, cli: CliContext): void {
  program
    .command('logs')
    .description(
      'Print (and with --follow, follow) the logs of every pod of an environment, prefixed by pod/container.',
    )
    .argument('<env>', 'environment (namespace)')
    .option('-s, --service <name>', 'only the pods of this service')
    .option('-f, --follow', 'keep following; resumes after drops and restarts without losing or repeating lines')
    .addOption(parsedOption('--tail <n>', 'lines of history per container (-1: all)', wholeNumber(-1), '100'))
    .option('--json', 'one JSON object per line: pod, container, timestamp, text')
    .action(async (env: string, o: LogsOptions, cmd: Command) => {
      const signal = cli.interruptSignal();
      const kube = kubeFor(cmd);
      const writer = new BatchedLogWriter({ append: (text) => process.stdout.write(text) });
      try {
        // Also stops waiting on a request that does not take the signal (the first pod list).
        await unlessAborted(
          followEnvironmentLogs({
            kube,
            namespace: env,
            service: o.service,
            follow: !!o.follow,
            tailLines: o.tail < 0 ? undefined : o.tail,
            signal,
            onLine: (record) => (o.json ? process.stdout.write(`${JSON.stringify(record)}\n`) : writer.write(record)),
            onNotice: (message) => process.stderr.write(`sandpiper: ${message}\n`),
          }),
          signal,
        );
      } finally {
        writer.dispose();
      }
    });
}
