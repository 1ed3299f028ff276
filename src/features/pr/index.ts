import { registerCommand } from '../shared/commands';
import type { FeatureContext } from '../shared/featureContext';
import { draftPullRequest } from './draftCommand';

/** Registers the pr feature: the Draft Pull Request command (SCM title bar, Environments view, palette). */
export function registerPullRequest(ctx: FeatureContext): void {
  ctx.extension.subscriptions.push(registerCommand(ctx.log, 'sandpiper.pr.draft', () => draftPullRequest(ctx)));
}
