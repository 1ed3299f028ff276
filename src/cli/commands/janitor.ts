import type { Command } from 'commander';

/** Adds the `janitor` verb(s) to the CLI. */
export function registerJanitorCommands(_program: Command): void {
  // Filled in by the feature.
}
