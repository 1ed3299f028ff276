import type { FeatureContext } from '../shared/featureContext';

/** Registers the logs feature: its commands, views and their cleanup. */
export function registerLogs(_ctx: FeatureContext): void {
  // Filled in by the logs feature.
}
