import type { FeatureContext } from '../shared/featureContext';

/** Registers the sync feature: its commands, views and their cleanup. */
export function registerSync(_ctx: FeatureContext): void {
  // Filled in by the sync feature.
}
