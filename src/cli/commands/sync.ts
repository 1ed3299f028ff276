import type { Command } from 'commander';

/** Adds the `sync` verb(s) to the CLI. */
export function registerSyncCommands(_program: Command): void {
  // Filled in by the feature.
}
