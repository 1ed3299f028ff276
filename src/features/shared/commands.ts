import * as vscode from 'vscode';
import { presentError, isCancellation, SandpiperError } from '../../core/errors';
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
  'sandpiper.rollout.skipStep': [];
  'sandpiper.pr.draft': [];
  'sandpiper.openInBrowser': [target?: unknown];
  'sandpiper.init': [folder?: vscode.Uri];
}

export type CommandId = keyof CommandTypes;

/**
 * The commands that work in an untrusted (Restricted Mode) workspace: they read and write the workspace's own files
 * only. Every other command talks to the cluster, builds images or uses a token, with settings and a sandpiper.yaml
 * that the workspace's authors chose, so it needs trust (package.json hides them too: `isWorkspaceTrusted`).
 */
const WITHOUT_TRUST: ReadonlySet<CommandId> = new Set<CommandId>(['sandpiper.init', 'sandpiper.env.copyName']);
const MANAGE_TRUST = 'Manage Workspace Trust';

/** Whether the command may run now; if not, says why and offers the trust editor. The one trust check. */
export function trustAllows(id: CommandId): boolean {
  if (vscode.workspace.isTrusted || WITHOUT_TRUST.has(id)) return true;
  void vscode.window
    .showWarningMessage(
      'Sandpiper needs a trusted workspace to talk to the cluster, build images or use tokens: ' +
        'this workspace is in Restricted Mode. sandpiper.yaml is still checked as you edit it.',
      MANAGE_TRUST,
    )
    .then((choice) => choice === MANAGE_TRUST && vscode.commands.executeCommand('workbench.trust.manage'));
  return false;
}

/**
 * Registers a command whose failures reach the user through one formatter, and the log in full; commands that
 * need a trusted workspace refuse in Restricted Mode.
 */
export function registerCommand<K extends CommandId>(
  log: vscode.LogOutputChannel,
  id: K,
  handler: (...args: CommandTypes[K]) => unknown,
): vscode.Disposable {
  return bindCommand(id, async (...args: unknown[]) => {
    if (!trustAllows(id)) return undefined;
    try {
      return await handler(...(args as CommandTypes[K]));
    } catch (err) {
      if (isCancellation(err)) return undefined;
      void showError(log, err);
      return undefined;
    }
  });
}

const INITIALIZE = 'Initialize';

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
  // Whatever ran into a missing sandpiper.yaml (Create, Deploy, Debug, ...), the way on is to write one.
  const initialize = err instanceof SandpiperError && err.code === 'config-missing' ? [INITIALIZE] : [];
  const choice = await vscode.window.showErrorMessage(
    text,
    ...initialize,
    ...actions.filter((a): a is string => typeof a === 'string'),
    'Show Log',
  );
  if (choice === 'Show Log') log.show(true);
  if (choice === INITIALIZE && initialize.length) void vscode.commands.executeCommand('sandpiper.init');
  return choice;
}
