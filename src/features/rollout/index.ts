import type { FeatureContext } from '../shared/featureContext';

/** Registers the rollout feature: its commands, views and their cleanup. */
export function registerRollout(_ctx: FeatureContext): void {
  // Filled in by the rollout feature.
}
