import * as path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';

export interface PathMappingPair {
  localRoot: string;
  remoteRoot: string;
}

/** The attach arguments the Python adapter reads (the extension fills host/port with the local forward). */
export interface PythonAttachArguments extends DebugProtocol.AttachRequestArguments {
  host?: string;
  port: number;
  localRoot: string;
  remoteRoot: string;
  pathMappings?: PathMappingPair[];
  justMyCode?: boolean;
  /** How often to check that debugpy still answers (ms); default 1000. */
  heartbeatMs?: number;
  /** How long to keep trying to re-attach after the target goes away; default 10 minutes. */
  reattachTimeoutMs?: number;
}

// Sandpiper's own keys, and the ones that would make debugpy's adapter connect or listen somewhere itself:
// the proxy already holds the connection, so debugpy must attach to the process it serves.
const NOT_FOR_DEBUGPY = ['host', 'port', 'connect', 'listen', 'processId', 'service', 'env', 'runtime', 'localRoot', 'remoteRoot', 'heartbeatMs', 'reattachTimeoutMs'];

/** The `attach` arguments debugpy gets: launch.json's extras kept, localRoot↔remoteRoot as the first path mapping. */
export function debugpyAttachArguments(args: PythonAttachArguments): Record<string, unknown> {
  const forwarded: Record<string, unknown> = Object.fromEntries(Object.entries(args).filter(([key]) => !NOT_FOR_DEBUGPY.includes(key)));
  const main = { localRoot: path.resolve(args.localRoot), remoteRoot: args.remoteRoot.replace(/(.)\/+$/, '$1') };
  const extra = (args.pathMappings ?? []).filter((m) => path.resolve(m.localRoot) !== main.localRoot || m.remoteRoot.replace(/(.)\/+$/, '$1') !== main.remoteRoot);
  return { ...forwarded, type: 'python', request: 'attach', justMyCode: args.justMyCode ?? true, pathMappings: [main, ...extra] };
}

/**
 * Breakpoint ids as VS Code knows them ↔ the ids of the current debugpy connection. Every debugpy process
 * numbers its breakpoints from 0 again, so after a re-attach the same breakpoint has a new debugpy id; VS
 * Code must keep seeing the id it was first given, or `breakpoint` events and hitBreakpointIds go astray.
 */
export class BreakpointIdMap {
  private nextClientId = 1;
  private toClient = new Map<number, number>();

  /** A new debugpy connection: its ids mean nothing yet. */
  reset(): void {
    this.toClient = new Map();
  }

  /** An id for a breakpoint VS Code has not seen before. */
  fresh(): number {
    return this.nextClientId++;
  }

  /** The VS Code id of a debugpy id, given a fresh one if it is new. */
  clientId(debugpyId: number): number {
    let id = this.toClient.get(debugpyId);
    if (id === undefined) {
      id = this.fresh();
      this.toClient.set(debugpyId, id);
    }
    return id;
  }

  /** Records that a replayed breakpoint (new debugpy id) is one VS Code already knows by clientId. */
  bind(debugpyId: number, clientId: number): void {
    this.toClient.set(debugpyId, clientId);
  }

  knows(debugpyId: number): boolean {
    return this.toClient.has(debugpyId);
  }
}
