import type { FeatureContext } from '../shared/featureContext';

/** Registers the pr feature: its commands, views and their cleanup. */
export function registerPullRequest(_ctx: FeatureContext): void {
  // Filled in by the pr feature.
}
