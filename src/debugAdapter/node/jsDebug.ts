// Node is debugged by VS Code's own JavaScript debugger (js-debug, built into VS Code and code-server): Sandpiper
// forwards the inspector port and hands js-debug a plain `node` attach to it. Shared by the extension and the CLI,
// which prints the same configuration for launch.json.

/** Where the forwarded inspector is and how the container's files map onto the workspace. */
export interface NodeAttachTarget {
  name: string;
  port: number;
  /** The workspace folder the image holds under remoteRoot (absolute, or `${workspaceFolder}`-relative). */
  localRoot: string;
  remoteRoot: string;
  address?: string;
}

/** A js-debug `node` attach configuration (see js-debug's OPTIONS.md, "node: attach"). */
export interface NodeAttachConfiguration {
  type: 'node';
  request: 'attach';
  name: string;
  address: string;
  port: number;
  localRoot: string;
  remoteRoot: string;
  sourceMaps: boolean;
  restart: boolean;
  skipFiles: string[];
  outFiles: string[];
  resolveSourceMapLocations: string[];
  [key: string]: unknown;
}

/**
 * The attach js-debug runs: source maps on (a breakpoint in a .ts file binds in the compiled .js), and `restart` so
 * a process restarted by a sync (node --watch) or a replaced pod behind the same forward is attached again.
 */
export function nodeAttachConfiguration(t: NodeAttachTarget): NodeAttachConfiguration {
  const root = t.localRoot.replace(/[\\/]+$/, '');
  return {
    type: 'node',
    request: 'attach',
    name: t.name,
    address: t.address ?? '127.0.0.1',
    port: t.port,
    localRoot: root,
    remoteRoot: t.remoteRoot,
    sourceMaps: true,
    restart: true,
    skipFiles: ['<node_internals>/**'],
    // The compiled files and their maps are read from the workspace (a sync sends them to the container), so
    // breakpoints bind before the script loads; js-debug's defaults would look in the whole workspace folder.
    outFiles: [`${root}/**/*.(m|c|)js`, '!**/node_modules/**'],
    resolveSourceMapLocations: [`${root}/**`, '!**/node_modules/**'],
  };
}
