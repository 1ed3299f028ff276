import * as vscode from 'vscode';
import { presentError, isCancellation } from '../../core/errors';
import { bindCommand } from './lazy';

/** Every command Sandpiper contributes, with the arguments it takes. package.json and a test keep them in step. */
export interface CommandTypes {
  'sandpiper.env.create': [];
  'sandpiper.env.delete': [target?: unknown];
  'sandpiper.env.extend': [target?: unknown];
  'sandpiper.env.refresh': [];
  'sandpiper.env.select': [target?: unknown];
  'sandpiper.env.openLogs': [target?: unknown];
  'sandpiper.env.copyName': [target?: unknown];
  'sandpiper.selectContext': [];
  'sandpiper.sync.resync': [];
  'sandpiper.sync.pause': [];
  'sandpiper.sync.resume': [];
  'sandpiper.rollout.start': [];
  'sandpiper.rollout.promote': [];
  'sandpiper.rollout.abort': [];
  'sandpiper.pr.draft': [];
}

export type CommandId = keyof CommandTypes;

/** Registers a command whose failures reach the user through one formatter, and the log in full. */
export function registerCommand<K extends CommandId>(
  log: vscode.LogOutputChannel,
  id: K,
  handler: (...args: CommandTypes[K]) => unknown,
): vscode.Disposable {
  return bindCommand(id, async (...args: unknown[]) => {
    try {
      return await handler(...(args as CommandTypes[K]));
    } catch (err) {
      if (isCancellation(err)) return undefined;
      void showError(log, err);
      return undefined;
    }
  });
}

/**
 * The one way an error reaches the user: redacted message and hint (after an optional lead such as
 * "Creating x failed:"), the actions offered, and Show Log; the log gets the same line.
 */
export async function showError(
  log: vscode.LogOutputChannel,
  err: unknown,
  ...actions: Array<string | { lead: string }>
): Promise<string | undefined> {
  const { message, hint } = presentError(err);
  const lead = actions.find((a): a is { lead: string } => typeof a === 'object')?.lead;
  const text = `${lead ? `${lead} ` : ''}${message}${hint ? ` ${hint}` : ''}`;
  log.error(text);
  const choice = await vscode.window.showErrorMessage(
    text,
    ...actions.filter((a): a is string => typeof a === 'string'),
    'Show Log',
  );
  if (choice === 'Show Log') log.show(true);
  return choice;
}
