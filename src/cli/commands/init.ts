import * as path from 'node:path';
import type { Command } from 'commander';
import { initConfig } from '../../core/config/init';
import { CONFIG_FILE } from '../../core/config/types';
import { globals } from '../main';

interface InitOptions {
  force?: boolean;
  dryRun?: boolean;
}

/** Adds `init [dir]`: writes a commented sandpiper.yaml from the folder's manifests, Dockerfile and language. */
export function registerInitCommands(program: Command): void {
  program
    .command('init')
    .description(
      `Write a commented ${CONFIG_FILE} from what the folder holds: Kubernetes manifests, Dockerfile, ` +
        'language (debug runtime and port) and .gitignore; checked by the schema before it is written.',
    )
    .argument('[dir]', 'the service folder (default: --dir, else the current folder)')
    .option('-f, --force', `replace an existing ${CONFIG_FILE}`)
    .option('-n, --dry-run', 'print the file instead of writing it')
    .action(async (dir: string | undefined, o: InitOptions, cmd: Command) => {
      const root = path.resolve(dir ?? globals(cmd).dir ?? process.cwd());
      const result = await initConfig(root, {
        force: o.force,
        dryRun: o.dryRun,
        existsHint: `Edit it, or run \`sandpiper init --force\` to replace it.`,
      });
      if (o.dryRun) {
        process.stdout.write(result.text);
        return;
      }
      process.stdout.write(
        `Wrote ${result.file} (${result.services.length === 1 ? 'service' : 'services'} ${result.services.join(', ')}).\n` +
          `Next: check it, then \`sandpiper env create${dir ? ` --dir ${dir}` : ''}\`.\n`,
      );
    });
}
