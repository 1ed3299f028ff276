import * as path from 'node:path';
import * as vscode from 'vscode';
import { CONFIG_FILE } from '../../core/config/types';
import type * as Loader from '../../core/config/loader';

/** Shows sandpiper.yaml problems in the editor as it is edited, with no other extension needed. */
export function registerConfigDiagnostics(): vscode.Disposable {
  const collection = vscode.languages.createDiagnosticCollection('sandpiper');
  const timers = new Map<string, NodeJS.Timeout>();
  // The parser (yaml, the schema's validator) loads with the first sandpiper.yaml seen, not at activation.
  let loader: Promise<typeof Loader> | undefined;

  const check = async (doc: vscode.TextDocument) => {
    if (path.basename(doc.uri.path) !== CONFIG_FILE) return;
    const { parseConfig } = await (loader ??= import('../../core/config/loader'));
    if (doc.isClosed) return;
    const result = parseConfig(doc.getText(), path.dirname(doc.uri.fsPath));
    collection.set(
      doc.uri,
      result.ok
        ? []
        : result.problems.map((p) => {
            const range = new vscode.Range(
              p.line,
              p.column,
              p.endLine,
              Math.max(p.endColumn, p.endLine === p.line ? p.column + 1 : p.endColumn),
            );
            const d = new vscode.Diagnostic(
              range,
              p.path ? `${p.path}: ${p.message}` : p.message,
              vscode.DiagnosticSeverity.Error,
            );
            d.source = 'sandpiper';
            return d;
          }),
    );
  };
  const schedule = (doc: vscode.TextDocument) => {
    const key = doc.uri.toString();
    clearTimeout(timers.get(key));
    timers.set(
      key,
      setTimeout(() => {
        timers.delete(key);
        void check(doc);
      }, 150),
    );
  };

  vscode.workspace.textDocuments.forEach((doc) => void check(doc));
  return vscode.Disposable.from(
    collection,
    vscode.workspace.onDidOpenTextDocument((doc) => void check(doc)),
    vscode.workspace.onDidChangeTextDocument((e) => schedule(e.document)),
    vscode.workspace.onDidCloseTextDocument((doc) => collection.delete(doc.uri)),
    { dispose: () => timers.forEach((t) => clearTimeout(t)) },
  );
}
