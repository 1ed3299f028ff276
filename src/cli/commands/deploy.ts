import type { Command } from 'commander';

/** Adds the `deploy` verb(s) to the CLI. */
export function registerDeployCommands(_program: Command): void {
  // Filled in by the feature.
}
