import type { FeatureContext } from '../shared/featureContext';

/** Registers the environments feature: its commands, views and their cleanup. */
export function registerEnvironments(_ctx: FeatureContext): void {
  // Filled in by the environments feature.
}
