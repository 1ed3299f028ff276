import type { Command } from 'commander';

/** Adds the `logs` verb(s) to the CLI. */
export function registerLogsCommands(_program: Command): void {
  // Filled in by the feature.
}
