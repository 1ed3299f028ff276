import type { Command } from 'commander';

/** Adds the `env` verb(s) to the CLI. */
export function registerEnvCommands(_program: Command): void {
  // Filled in by the feature.
}
