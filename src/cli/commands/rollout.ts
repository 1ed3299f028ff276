import type { Command } from 'commander';

/** Adds the `rollout` verb(s) to the CLI. */
export function registerRolloutCommands(_program: Command): void {
  // Filled in by the feature.
}
