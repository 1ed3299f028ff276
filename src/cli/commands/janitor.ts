import type { Command } from 'commander';
import { runJanitor } from '../../core/env/janitor';
import { kubeFor, printJson } from '../options';
import { SandpiperError } from '../../core/errors';

/** Adds `janitor`: deletes expired Sandpiper environments (also run in-cluster by resources/janitor-cronjob.yaml). */
export function registerJanitorCommands(program: Command): void {
  program.command('janitor')
    .description('Delete Sandpiper environments whose TTL has passed since their last activity; never touches other namespaces.')
    .option('--dry-run', 'only say what would be deleted')
    .option('--json', 'print the decisions as JSON')
    .action(async (o: { dryRun?: boolean; json?: boolean }, cmd: Command) => {
      const result = await runJanitor(kubeFor(cmd), { dryRun: o.dryRun });
      if (o.json) printJson({ dryRun: !!o.dryRun, ...result });
      else {
        for (const d of result.decisions) {
          const verb = d.action === 'delete' ? (o.dryRun ? 'would delete' : result.deleted.includes(d.name) ? 'deleted' : 'failed to delete') : 'keep';
          process.stderr.write(`${verb} ${d.name} (${d.reason}${d.expiresAt ? `, expiry ${d.expiresAt}` : ''})\n`);
        }
      }
      if (result.errors.length) throw new SandpiperError('janitor-failed', `Could not delete ${result.errors.map((e) => `${e.name}: ${e.message}`).join('; ')}`);
    });
}
