/** code-server's arguments to serve `workspace` on `bindAddr` (after the entry point); see codeserver.mjs. */
export function serveArgs(dirs: string[], bindAddr: string, workspace: string, extra?: string[]): string[];
