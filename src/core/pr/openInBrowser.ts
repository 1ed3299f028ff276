import { spawn } from 'node:child_process';

/** Opens a URL with the platform's opener (CLI only; the extension uses vscode.env.openExternal). */
export function openInBrowser(url: string): void {
  const [cmd, args] =
    process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '""', url]] : ['xdg-open', [url]];
  const child = spawn(cmd, args as string[], { stdio: 'ignore', detached: true });
  child.on('error', () => {
    // No opener installed (a server, a container): the URL is printed anyway.
  });
  child.unref();
}
