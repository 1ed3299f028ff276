import * as path from 'node:path';
import {
  Breakpoint,
  BreakpointEvent,
  ContinuedEvent,
  Handles,
  InitializedEvent,
  LoggingDebugSession,
  OutputEvent,
  Scope,
  Source,
  StackFrame,
  StoppedEvent,
  Thread,
  Variable,
} from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import {
  CdpConnection,
  describeRemoteObject,
  isExpandable,
  type BreakpointSet,
  type CallFrame,
  type EvaluateResult,
  type PausedEvent,
  type PropertyDescriptor,
  inspectorWebSocketUrl,
} from './cdp';
import { PathMapping, reattachWithBackoff } from '../reattach';

/** The attach arguments this adapter reads (the extension fills host/port with the local forward). */
export interface NodeAttachArguments extends DebugProtocol.AttachRequestArguments {
  host?: string;
  port: number;
  localRoot: string;
  remoteRoot: string;
  /** How often to check that the target still answers (ms); default 1000. */
  heartbeatMs?: number;
  /** How long to keep trying to re-attach after the target goes away; default 10 minutes. */
  reattachTimeoutMs?: number;
}

interface SourceBreakpoints {
  requested: Array<{ id: number; line: number; column?: number; condition?: string }>;
  /** Inspector breakpoint ids of the current connection. */
  cdpIds: string[];
}

const THREAD_ID = 1;

/**
 * Sandpiper's Node debug adapter: DAP on one side, the Node inspector (CDP) behind a port-forward on the
 * other. Unlike a plain attach it outlives the target: when the inspector socket closes (a sync reload
 * restarted the process, or the pod was replaced) it reconnects with backoff and sets every breakpoint again.
 */
export class NodeDebugSession extends LoggingDebugSession {
  private cdp?: CdpConnection;
  private args?: NodeAttachArguments;
  private mapping?: PathMapping;
  private readonly breakpoints = new Map<string, SourceBreakpoints>();
  private readonly cdpToDap = new Map<string, number>();
  private nextBreakpointId = 1;
  private readonly scripts = new Map<string, string>();
  private paused?: PausedEvent;
  private readonly frames = new Handles<CallFrame>();
  private readonly objects = new Handles<string>();
  private stopReason?: string;
  private detaching = false;
  private reattaching = false;

  /** `overrides` win over the attach arguments: the extension knows the forward's port, launch.json does not. */
  constructor(private readonly overrides: Partial<NodeAttachArguments> = {}) {
    super();
    this.setDebuggerLinesStartAt1(false);
    this.setDebuggerColumnsStartAt1(false);
  }

  /** The extension owns this session's lifetime; never exit the process. */
  override shutdown(): void {}

  protected override initializeRequest(response: DebugProtocol.InitializeResponse): void {
    response.body = {
      supportsConfigurationDoneRequest: true,
      supportsConditionalBreakpoints: true,
      supportsEvaluateForHovers: true,
      supportTerminateDebuggee: false,
    };
    this.sendResponse(response);
  }

  protected override async attachRequest(
    response: DebugProtocol.AttachResponse,
    args: DebugProtocol.AttachRequestArguments,
  ): Promise<void> {
    this.args = { ...(args as NodeAttachArguments), ...this.overrides };
    this.mapping = new PathMapping(this.args.localRoot, this.args.remoteRoot);
    try {
      await this.connect();
    } catch (err) {
      return this.sendErrorResponse(response, {
        id: 1001,
        format: `Cannot attach to the Node inspector on ${this.target()}: ${(err as Error).message}`,
        showUser: true,
      });
    }
    this.sendResponse(response);
    this.sendEvent(new InitializedEvent());
  }

  private target(): string {
    return `${this.args?.host ?? '127.0.0.1'}:${this.args?.port}`;
  }

  private async connect(): Promise<void> {
    const host = this.args!.host ?? '127.0.0.1';
    const url = await inspectorWebSocketUrl(host, this.args!.port);
    const cdp = await CdpConnection.open(url);
    this.cdp = cdp;
    this.scripts.clear();
    cdp.on('Debugger.scriptParsed', (p: { scriptId: string; url: string }) => this.scripts.set(p.scriptId, p.url));
    cdp.on('Debugger.paused', (p: PausedEvent) => this.onPaused(p));
    cdp.on('Debugger.resumed', () => this.onResumed());
    cdp.on('Debugger.breakpointResolved', (p: { breakpointId: string; location: { lineNumber: number } }) => {
      const id = this.cdpToDap.get(p.breakpointId);
      if (id !== undefined)
        this.sendEvent(
          new BreakpointEvent('changed', {
            id,
            verified: true,
            line: this.convertDebuggerLineToClient(p.location.lineNumber),
          }),
        );
    });
    // An exiting Node waits for attached debuggers to let go ("Waiting for the debugger to disconnect..."), so
    // a SIGTERM'd container would never end: its default context going away is the exit, let go then.
    const defaultContexts = new Set<number>();
    cdp.on('Runtime.executionContextCreated', (p: { context: { id: number; auxData?: { isDefault?: boolean } } }) => {
      if (p.context.auxData?.isDefault) defaultContexts.add(p.context.id);
    });
    cdp.on('Runtime.executionContextDestroyed', (p: { executionContextId: number }) => {
      if (defaultContexts.has(p.executionContextId)) cdp.dispose();
    });
    cdp.onClose(() => this.onTargetLost(cdp));
    const heartbeat = this.args!.heartbeatMs ?? 1000;
    cdp.startHeartbeat(heartbeat, Math.max(2000, heartbeat * 2));
    try {
      await cdp.send('Runtime.enable');
      await cdp.send('Debugger.enable');
      for (const [file, bps] of this.breakpoints) await this.applyBreakpoints(file, bps);
      await cdp.send('Runtime.runIfWaitingForDebugger');
    } catch (err) {
      cdp.dispose();
      throw err;
    }
  }

  private onTargetLost(cdp: CdpConnection): void {
    if (this.cdp !== cdp) return;
    this.cdp = undefined;
    if (this.paused) this.onResumed();
    if (this.detaching || this.reattaching) return;
    this.sendEvent(
      new OutputEvent(`Sandpiper: the target on ${this.target()} went away (restart?); re-attaching…\n`, 'console'),
    );
    void this.reattach();
  }

  private async reattach(): Promise<void> {
    this.reattaching = true;
    try {
      await reattachWithBackoff({
        connect: () => this.connect(),
        detaching: () => this.detaching,
        target: () => this.target(),
        send: (e) => this.sendEvent(e),
        firstDelayMs: 100,
        timeoutMs: this.args?.reattachTimeoutMs,
      });
    } finally {
      this.reattaching = false;
    }
  }

  private onPaused(p: PausedEvent): void {
    this.paused = p;
    this.frames.reset();
    this.objects.reset();
    let reason = this.stopReason ?? 'pause';
    if (p.hitBreakpoints?.length) reason = 'breakpoint';
    else if (p.reason === 'exception' || p.reason === 'promiseRejection') reason = 'exception';
    this.stopReason = undefined;
    this.sendEvent(new StoppedEvent(reason, THREAD_ID));
  }

  private onResumed(): void {
    if (!this.paused) return;
    this.paused = undefined;
    this.sendEvent(new ContinuedEvent(THREAD_ID, true));
  }

  protected override async setBreakPointsRequest(
    response: DebugProtocol.SetBreakpointsResponse,
    args: DebugProtocol.SetBreakpointsArguments,
  ): Promise<void> {
    const file = args.source.path;
    if (!file) {
      response.body = {
        breakpoints: (args.breakpoints ?? []).map(() => ({
          verified: false,
          message: 'Only files can hold breakpoints.',
        })),
      };
      return this.sendResponse(response);
    }
    const previous = this.breakpoints.get(file);
    const entry: SourceBreakpoints = {
      requested: (args.breakpoints ?? []).map((b) => ({
        id: this.nextBreakpointId++,
        line: this.convertClientLineToDebugger(b.line),
        column: b.column === undefined ? undefined : this.convertClientColumnToDebugger(b.column),
        condition: b.condition,
      })),
      cdpIds: previous?.cdpIds ?? [],
    };
    this.breakpoints.set(file, entry);
    const results = this.cdp ? await this.applyBreakpoints(file, entry).catch(() => undefined) : undefined;
    const remote = this.mapping?.toRemote(file);
    response.body = {
      breakpoints: entry.requested.map((b, i) => {
        const bp = new Breakpoint(
          !!remote,
          this.convertDebuggerLineToClient(results?.[i]?.locations[0]?.lineNumber ?? b.line),
        ) as DebugProtocol.Breakpoint;
        bp.id = b.id;
        if (!remote) bp.message = `Outside localRoot (${this.args?.localRoot}); not in the container.`;
        return bp;
      }),
    };
    this.sendResponse(response);
  }

  /** Replaces the file's inspector breakpoints with the requested ones on the current connection. */
  private async applyBreakpoints(file: string, entry: SourceBreakpoints): Promise<Array<BreakpointSet | undefined>> {
    const cdp = this.cdp;
    if (!cdp) return [];
    for (const id of entry.cdpIds) {
      this.cdpToDap.delete(id);
      await cdp.send('Debugger.removeBreakpoint', { breakpointId: id }).catch(() => undefined);
    }
    entry.cdpIds = [];
    const remote = this.mapping?.toRemote(file);
    if (!remote) return [];
    const results: Array<BreakpointSet | undefined> = [];
    for (const b of entry.requested) {
      const set = await cdp
        .send<BreakpointSet>('Debugger.setBreakpointByUrl', {
          urlRegex: PathMapping.scriptUrlRegex(remote),
          lineNumber: b.line,
          columnNumber: b.column,
          condition: b.condition ?? '',
        })
        .catch(() => undefined);
      results.push(set);
      if (set) {
        entry.cdpIds.push(set.breakpointId);
        this.cdpToDap.set(set.breakpointId, b.id);
      }
    }
    return results;
  }

  protected override configurationDoneRequest(response: DebugProtocol.ConfigurationDoneResponse): void {
    this.sendResponse(response);
  }

  protected override threadsRequest(response: DebugProtocol.ThreadsResponse): void {
    response.body = { threads: [new Thread(THREAD_ID, 'Node main thread')] };
    this.sendResponse(response);
  }

  protected override stackTraceRequest(
    response: DebugProtocol.StackTraceResponse,
    args: DebugProtocol.StackTraceArguments,
  ): void {
    const all = this.paused?.callFrames ?? [];
    const start = args.startFrame ?? 0;
    const frames = all.slice(start, args.levels ? start + args.levels : undefined).map((f) => {
      const url = f.url || this.scripts.get(f.location.scriptId) || '';
      const local = this.mapping?.toLocal(url);
      const source = local ? new Source(path.basename(local), local) : new Source(url || '<unknown>');
      if (!local) (source as DebugProtocol.Source).presentationHint = 'deemphasize';
      return new StackFrame(
        this.frames.create(f),
        f.functionName || '<anonymous>',
        source,
        this.convertDebuggerLineToClient(f.location.lineNumber),
        this.convertDebuggerColumnToClient(f.location.columnNumber ?? 0),
      );
    });
    response.body = { stackFrames: frames, totalFrames: all.length };
    this.sendResponse(response);
  }

  protected override scopesRequest(response: DebugProtocol.ScopesResponse, args: DebugProtocol.ScopesArguments): void {
    const frame = this.frames.get(args.frameId);
    const scopes = (frame?.scopeChain ?? [])
      .filter((s) => s.object.objectId)
      .map(
        (s) =>
          new Scope(
            s.name ? `${capitalise(s.type)}: ${s.name}` : capitalise(s.type),
            this.objects.create(s.object.objectId!),
            s.type === 'global',
          ),
      );
    response.body = { scopes };
    this.sendResponse(response);
  }

  protected override async variablesRequest(
    response: DebugProtocol.VariablesResponse,
    args: DebugProtocol.VariablesArguments,
  ): Promise<void> {
    const objectId = this.objects.get(args.variablesReference);
    if (!objectId || !this.cdp) {
      response.body = { variables: [] };
      return this.sendResponse(response);
    }
    try {
      const { result } = await this.cdp.send<{ result: PropertyDescriptor[] }>('Runtime.getProperties', {
        objectId,
        ownProperties: true,
      });
      const variables = result
        .filter((p) => p.value)
        .slice(0, 500)
        .map(
          (p) =>
            new Variable(
              p.name,
              describeRemoteObject(p.value!),
              isExpandable(p.value!) ? this.objects.create(p.value!.objectId!) : 0,
            ),
        );
      response.body = { variables };
      this.sendResponse(response);
    } catch (err) {
      this.sendErrorResponse(response, 1002, (err as Error).message);
    }
  }

  protected override async evaluateRequest(
    response: DebugProtocol.EvaluateResponse,
    args: DebugProtocol.EvaluateArguments,
  ): Promise<void> {
    const frame = args.frameId !== undefined ? this.frames.get(args.frameId) : undefined;
    if (!this.cdp) return this.sendErrorResponse(response, 1003, 'Not attached (the target is restarting).');
    try {
      const r = frame
        ? await this.cdp.send<EvaluateResult>('Debugger.evaluateOnCallFrame', {
            callFrameId: frame.callFrameId,
            expression: args.expression,
          })
        : await this.cdp.send<EvaluateResult>('Runtime.evaluate', { expression: args.expression });
      if (r.exceptionDetails)
        return this.sendErrorResponse(
          response,
          1004,
          r.exceptionDetails.exception?.description?.split('\n')[0] ?? r.exceptionDetails.text,
        );
      response.body = {
        result: describeRemoteObject(r.result),
        variablesReference: isExpandable(r.result) ? this.objects.create(r.result.objectId!) : 0,
      };
      this.sendResponse(response);
    } catch (err) {
      this.sendErrorResponse(response, 1004, (err as Error).message);
    }
  }

  private async control(response: DebugProtocol.Response, method: string, reason?: string): Promise<void> {
    this.stopReason = reason;
    try {
      await this.cdp?.send(method);
      this.sendResponse(response);
    } catch (err) {
      this.sendErrorResponse(response, 1005, (err as Error).message);
    }
  }

  protected override continueRequest(response: DebugProtocol.ContinueResponse): Promise<void> {
    response.body = { allThreadsContinued: true };
    return this.control(response, 'Debugger.resume');
  }

  protected override nextRequest(response: DebugProtocol.NextResponse): Promise<void> {
    return this.control(response, 'Debugger.stepOver', 'step');
  }

  protected override stepInRequest(response: DebugProtocol.StepInResponse): Promise<void> {
    return this.control(response, 'Debugger.stepInto', 'step');
  }

  protected override stepOutRequest(response: DebugProtocol.StepOutResponse): Promise<void> {
    return this.control(response, 'Debugger.stepOut', 'step');
  }

  protected override pauseRequest(response: DebugProtocol.PauseResponse): Promise<void> {
    return this.control(response, 'Debugger.pause', 'pause');
  }

  protected override async disconnectRequest(response: DebugProtocol.DisconnectResponse): Promise<void> {
    this.detaching = true;
    const cdp = this.cdp;
    this.cdp = undefined;
    // Never leave the service frozen at a breakpoint after the user stops debugging.
    if (cdp && this.paused) await cdp.send('Debugger.resume').catch(() => undefined);
    cdp?.dispose();
    this.sendResponse(response);
  }

  override dispose(): void {
    this.detaching = true;
    this.cdp?.dispose();
    super.dispose();
  }
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
