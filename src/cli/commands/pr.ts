import type { Command } from 'commander';

/** Adds the `pr` verb(s) to the CLI. */
export function registerPullRequestCommands(_program: Command): void {
  // Filled in by the feature.
}
