import type { Command } from 'commander';

/** Adds the `debug` verb(s) to the CLI. */
export function registerDebugCommands(_program: Command): void {
  // Filled in by the feature.
}
