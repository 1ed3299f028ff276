// Runs mocha suites inside the real VS Code extension host of a code-server instance.
// The workbench is opened with the `payload` URL (extensionDevelopmentPath + extensionTestsPath as
// vscode-remote:// URIs); VS Code calls window.codeAutomationLog(type, args) for the test output and
// window.codeAutomationExit(code, logs) when run() settles (0 = passed, 1 = failed).
import path from 'node:path';
import { format } from 'node:util';
import { openWorkbench } from './browser';
import { CodeServer } from './codeServer';

export interface ExtensionHostTestOptions {
  /** Extension folder (package.json + its main, e.g. the repo root with dist/extension.js). */
  extensionPath: string;
  /** The runner module exporting run(), e.g. out/exthost/index.js. */
  testsPath: string;
  /** Folder opened in the workbench. */
  workspace: string;
  /** Environment for code-server and so the extension host (KUBECONFIG, SANDPIPER_EXTHOST_GREP, ...). */
  env?: Record<string, string>;
  /** Extra user settings. */
  settings?: Record<string, unknown>;
  /** A .vsix to install besides (e.g. a dependency extension). */
  vsix?: string;
  /** Serve code-server's /proxy/<port>/, where vscode.env.asExternalUri maps localhost URIs (Open in Browser). */
  proxy?: boolean;
  /** Overall timeout (default 5 min; SANDPIPER_EXTHOST_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Echo output lines as they arrive (default: SANDPIPER_E2E_VERBOSE). */
  echo?: boolean;
  /** Open the workspace untrusted, in Restricted Mode (see CodeServerOptions.workspaceTrust). */
  workspaceTrust?: boolean;
}

export interface ExtensionHostTestResult {
  exitCode: number;
  /** Test output (console of the extension host as forwarded by VS Code), one entry per line. */
  output: string;
  /** ms from server start to exit. */
  durationMs: number;
}

function formatArgs(args: unknown): string {
  // VS Code forwards console.log's raw arguments (format string + values); apply the substitutions.
  const list = Array.isArray(args) ? args : [args];
  return format(...list);
}

export async function runExtensionHostTests(opts: ExtensionHostTestOptions): Promise<ExtensionHostTestResult> {
  const started = Date.now();
  const timeoutMs = opts.timeoutMs ?? Number(process.env.SANDPIPER_EXTHOST_TIMEOUT_MS ?? 300_000);
  const echo = opts.echo ?? Boolean(process.env.SANDPIPER_E2E_VERBOSE);
  const lines: string[] = [];
  const push = (line: string) => {
    lines.push(line);
    if (echo) process.stderr.write(`[exthost] ${line}\n`);
  };

  const server = await CodeServer.start({
    workspace: opts.workspace,
    extensionDevelopmentPath: path.resolve(opts.extensionPath),
    vsix: opts.vsix,
    proxy: opts.proxy,
    env: opts.env,
    settings: opts.settings,
    workspaceTrust: opts.workspaceTrust,
  });
  let workbench: Awaited<ReturnType<typeof openWorkbench>> | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    let resolveExit!: (code: number) => void;
    const exited = new Promise<number>((r) => (resolveExit = r));
    workbench = await openWorkbench(server, {
      payload: [['extensionTestsPath', server.remoteUri(path.resolve(opts.testsPath))]],
      waitForWorkbench: false,
      timeoutMs,
      exposeFunctions: {
        codeAutomationLog: (type: string, args: unknown) =>
          push(type === 'info' || type === 'log' ? formatArgs(args) : `[${type}] ${formatArgs(args)}`),
        codeAutomationExit: (code: number) => resolveExit(Number(code)),
      },
    });
    workbench.page.on('pageerror', (e) => push(`[pageerror] ${e.message}`));
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `extension-host tests did not finish within ${timeoutMs} ms.\n--- test output ---\n${lines.join('\n')}\n--- code-server output ---\n${server.output}`,
            ),
          ),
        Math.max(0, timeoutMs - (Date.now() - started)),
      );
    });
    const exitCode = await Promise.race([exited, timeout]);
    return { exitCode, output: lines.join('\n'), durationMs: Date.now() - started };
  } finally {
    if (timer) clearTimeout(timer);
    await workbench?.close();
    await server.stop();
  }
}
