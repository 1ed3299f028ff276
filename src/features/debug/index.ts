import type { FeatureContext } from '../shared/featureContext';

/** Registers the debug feature: its commands, views and their cleanup. */
export function registerDebug(_ctx: FeatureContext): void {
  // Filled in by the debug feature.
}
