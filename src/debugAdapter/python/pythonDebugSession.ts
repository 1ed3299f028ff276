import {
  CapabilitiesEvent,
  ContinuedEvent,
  DebugSession,
  InitializedEvent,
  OutputEvent,
  ThreadEvent,
} from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import {
  DapSocketClient,
  BreakpointIdMap,
  debugpyAttachArguments,
  responseTo,
  type PythonAttachArguments,
} from './debugpy';
import { reattachWithBackoff } from '../reattach';

interface RememberedBreakpoints {
  args: DebugProtocol.SetBreakpointsArguments;
  /** The ids VS Code was given for args.breakpoints, in order. */
  clientIds: Array<number | undefined>;
}

/**
 * Sandpiper's Python debug adapter: a DAP proxy between VS Code and debugpy's adapter (`python -m debugpy
 * --listen`) behind a port-forward. It relays requests, responses and events, adds localRoot↔remoteRoot
 * to the attach as debugpy's pathMappings, and outlives the target: when debugpy goes away (its
 * `terminated` event, a closed socket, or a `threads` heartbeat without answer — a forward through kwok
 * stays open after the process dies) it reconnects with backoff and replays initialize → attach →
 * setBreakpoints → setExceptionBreakpoints → configurationDone while the VS Code session stays alive.
 *
 * debugpy answers `attach` only after `configurationDone`, and binds breakpoints asynchronously: the
 * setBreakpoints answer may say unverified and a `breakpoint` event verifies it later. Both reach VS Code
 * with the ids it was first given (see BreakpointIdMap); "re-attached" is announced only once debugpy has
 * answered the replayed attach, so every remembered breakpoint was handed over by then.
 */
export class PythonDebugSession extends DebugSession {
  private args?: PythonAttachArguments;
  private initializeArgs: DebugProtocol.InitializeRequestArguments = { adapterID: 'python' };
  private conn?: DapSocketClient;
  private readonly breakpoints = new Map<string, RememberedBreakpoints>();
  private exceptionBreakpoints?: DebugProtocol.SetExceptionBreakpointsArguments;
  private readonly ids = new BreakpointIdMap();
  private readonly threads = new Set<number>();
  private stopped = false;
  private heartbeat?: NodeJS.Timeout;
  private detaching = false;

  /** `overrides` win over the attach arguments: the extension knows the forward's port, launch.json does not. */
  constructor(private readonly overrides: Partial<PythonAttachArguments> = {}) {
    super();
  }

  /** The extension owns this session's lifetime; never exit the process. */
  override shutdown(): void {}

  protected override dispatchRequest(request: DebugProtocol.Request): void {
    void this.handle(request).catch((err: Error) => this.fail(request, err.message));
  }

  private async handle(request: DebugProtocol.Request): Promise<void> {
    switch (request.command) {
      case 'initialize':
        // debugpy is reached at attach (and again at every re-attach); its capabilities follow as an event.
        this.initializeArgs = request.arguments as DebugProtocol.InitializeRequestArguments;
        return this.reply(request, true, { supportsConfigurationDoneRequest: true });
      case 'attach':
        return this.attach(request);
      case 'disconnect':
      case 'terminate':
        return this.detach(request);
      case 'setBreakpoints':
        return this.setBreakpoints(request);
      case 'setExceptionBreakpoints':
        this.exceptionBreakpoints = request.arguments as DebugProtocol.SetExceptionBreakpointsArguments;
        return this.conn ? this.relay(request) : this.reply(request, true, {});
      case 'threads':
        return this.conn ? this.relay(request) : this.reply(request, true, { threads: [] });
      default:
        if (!this.conn)
          return this.fail(request, 'Not attached: the target is restarting; Sandpiper re-attaches when it is back.');
        return this.relay(request);
    }
  }

  private target(): string {
    return `${this.args?.host ?? '127.0.0.1'}:${this.args?.port}`;
  }

  private async attach(request: DebugProtocol.Request): Promise<void> {
    this.args = { ...(request.arguments as PythonAttachArguments), ...this.overrides };
    let attached: DebugProtocol.Response;
    try {
      attached = await this.connect(true);
    } catch (err) {
      return this.fail(request, `Cannot attach to debugpy on ${this.target()}: ${(err as Error).message}`);
    }
    if (!attached.success) return this.fail(request, `debugpy refused the attach: ${attached.message}`);
    this.reply(request, true, attached.body);
  }

  /**
   * Opens a debugpy connection and attaches. The first time, VS Code does the configuration itself (we
   * forward `initialized`) and the result is debugpy's attach response; on a re-attach we replay it.
   */
  private async connect(first: boolean): Promise<DebugProtocol.Response> {
    const conn = await DapSocketClient.connect(this.args!.host ?? '127.0.0.1', this.args!.port, 3000);
    try {
      this.ids.reset();
      const initialized = new Promise<void>((resolve) => conn.onEvent((e) => e.event === 'initialized' && resolve()));
      conn.onEvent((e) => this.onDebugpyEvent(conn, e));
      conn.onReverseRequest((r) =>
        this.sendRequest(r.command, r.arguments, 60_000, (res) => conn.respond(r, res.success, res.body, res.message)),
      );
      conn.onClose(() => this.onTargetLost(conn, 'the connection closed'));
      const init = await conn.request<DebugProtocol.InitializeResponse>(
        'initialize',
        { ...this.initializeArgs, adapterID: 'python' },
        5000,
      );
      if (!init.success) throw new Error(`initialize: ${init.message}`);
      if (first && init.body) this.sendEvent(new CapabilitiesEvent(init.body));
      // The first attach waits for VS Code's configuration, which may take a while (breakpoints in many files).
      let refused: DebugProtocol.Response | undefined;
      const attach = conn.request('attach', debugpyAttachArguments(this.args!), first ? 120_000 : 15_000);
      attach.then(
        (r) => (refused = r.success ? undefined : r),
        () => undefined,
      );
      await Promise.race([initialized, attach, timeout(10_000, 'no "initialized" event from debugpy')]);
      if (refused) {
        conn.dispose();
        return refused;
      }
      this.conn = conn;
      if (first) {
        this.sendEvent(new InitializedEvent());
      } else {
        await this.replayConfiguration(conn);
      }
      const attached = await attach;
      if (attached.success) this.startHeartbeat(conn);
      return attached;
    } catch (err) {
      if (this.conn === conn) this.conn = undefined;
      conn.dispose();
      throw err;
    }
  }

  private async replayConfiguration(conn: DapSocketClient): Promise<void> {
    for (const [key, remembered] of this.breakpoints) {
      const r = await conn.request<DebugProtocol.SetBreakpointsResponse>('setBreakpoints', remembered.args);
      if (this.breakpoints.get(key) !== remembered) continue; // VS Code changed them meanwhile; its own relay maps the ids.
      const bps = r.body?.breakpoints ?? [];
      bps.forEach((bp, i) => {
        const clientId = remembered.clientIds[i];
        if (bp.id !== undefined && clientId !== undefined) this.ids.bind(bp.id, clientId);
        this.sendEvent({
          seq: 0,
          type: 'event',
          event: 'breakpoint',
          body: { reason: 'changed', breakpoint: { ...bp, id: clientId ?? this.ids.fresh() } },
        } as DebugProtocol.BreakpointEvent);
      });
    }
    if (this.exceptionBreakpoints) await conn.request('setExceptionBreakpoints', this.exceptionBreakpoints);
    await conn.request('configurationDone');
  }

  private async setBreakpoints(request: DebugProtocol.Request): Promise<void> {
    const args = request.arguments as DebugProtocol.SetBreakpointsArguments;
    const key = args.source.path ?? `ref:${args.source.sourceReference}`;
    const remembered: RememberedBreakpoints = { args, clientIds: [] };
    this.breakpoints.set(key, remembered);
    const conn = this.conn;
    if (!conn) {
      // Kept for the re-attach, which verifies them.
      const breakpoints = (args.breakpoints ?? []).map((b) => ({
        id: this.ids.fresh(),
        verified: false,
        line: b.line,
        message: 'The target is restarting.',
      }));
      remembered.clientIds = breakpoints.map((b) => b.id);
      return this.reply(request, true, { breakpoints });
    }
    const r = await conn.request<DebugProtocol.SetBreakpointsResponse>('setBreakpoints', args, 30_000);
    const breakpoints = (r.body?.breakpoints ?? []).map((bp) =>
      bp.id === undefined ? bp : { ...bp, id: this.ids.clientId(bp.id) },
    );
    remembered.clientIds = breakpoints.map((b) => b.id);
    this.reply(request, r.success, { breakpoints }, r.message);
  }

  private async relay(request: DebugProtocol.Request): Promise<void> {
    const r = await this.conn!.request(request.command, request.arguments, 60_000);
    this.reply(request, r.success, r.body, r.message);
  }

  private onDebugpyEvent(conn: DapSocketClient, e: DebugProtocol.Event): void {
    if (this.conn !== conn) return;
    switch (e.event) {
      case 'initialized':
        return; // forwarded by connect() on the first attach only
      case 'terminated':
        return this.onTargetLost(conn, 'debugpy ended the session'); // the process ended; the VS Code session does not
      case 'exited':
        return;
      case 'breakpoint': {
        const bp = (e as DebugProtocol.BreakpointEvent).body.breakpoint;
        if (bp.id !== undefined) bp.id = this.ids.clientId(bp.id);
        break;
      }
      case 'stopped': {
        const body = (e as DebugProtocol.StoppedEvent).body;
        this.stopped = true;
        if (body.hitBreakpointIds) body.hitBreakpointIds = body.hitBreakpointIds.map((id) => this.ids.clientId(id));
        break;
      }
      case 'continued':
        this.stopped = false;
        break;
      case 'thread': {
        const body = (e as DebugProtocol.ThreadEvent).body;
        if (body.reason === 'started') this.threads.add(body.threadId);
        else if (body.reason === 'exited') this.threads.delete(body.threadId);
        break;
      }
    }
    this.sendEvent({ seq: 0, type: 'event', event: e.event, body: e.body } as DebugProtocol.Event);
  }

  private startHeartbeat(conn: DapSocketClient): void {
    clearInterval(this.heartbeat);
    const every = this.args?.heartbeatMs ?? 1000;
    let probing = false;
    this.heartbeat = setInterval(() => {
      if (probing || this.conn !== conn) return;
      probing = true;
      // debugpy answers `threads` even while paused; a failure ("Server disconnected") or silence means it is gone.
      conn
        .request('threads', undefined, Math.max(3000, every * 3))
        .then(
          (r) => !r.success && this.onTargetLost(conn, `heartbeat failed: ${r.message}`),
          () => this.onTargetLost(conn, 'no answer to the heartbeat'),
        )
        .finally(() => (probing = false));
    }, every);
  }

  private onTargetLost(conn: DapSocketClient, why: string): void {
    if (this.conn !== conn) return;
    this.conn = undefined;
    clearInterval(this.heartbeat);
    conn.dispose();
    if (this.detaching) return;
    // The old process's threads are gone; tell VS Code so it does not show them paused.
    if (this.stopped) this.sendEvent(new ContinuedEvent(0, true));
    this.stopped = false;
    for (const id of this.threads) this.sendEvent(new ThreadEvent('exited', id));
    this.threads.clear();
    this.sendEvent(
      new OutputEvent(`Sandpiper: debugpy on ${this.target()} went away (${why}); re-attaching…\n`, 'console'),
    );
    void this.reattach();
  }

  private async reattach(): Promise<void> {
    await reattachWithBackoff({
      connect: async () => {
        const attached = await this.connect(false);
        if (!attached.success) throw new Error(attached.message);
      },
      detaching: () => this.detaching,
      target: () => this.target(),
      send: (e) => this.sendEvent(e),
      firstDelayMs: 200,
      timeoutMs: this.args?.reattachTimeoutMs,
    });
  }

  private async detach(request: DebugProtocol.Request): Promise<void> {
    this.detaching = true;
    clearInterval(this.heartbeat);
    const conn = this.conn;
    this.conn = undefined;
    // Never leave the service frozen or killed: debugpy resumes the process on a disconnect without terminateDebuggee.
    if (conn)
      await conn
        .request('disconnect', { ...(request.arguments ?? {}), terminateDebuggee: false }, 3000)
        .catch(() => undefined);
    conn?.dispose();
    this.reply(request, true);
  }

  private reply(request: DebugProtocol.Request, success: boolean, body?: unknown, message?: string): void {
    this.sendResponse(responseTo(request, success, body, message));
  }

  private fail(request: DebugProtocol.Request, message: string): void {
    this.sendResponse(responseTo(request, false, { error: { id: 1101, format: message, showUser: true } }, message));
  }

  override dispose(): void {
    this.detaching = true;
    clearInterval(this.heartbeat);
    this.conn?.dispose();
    this.conn = undefined;
    super.dispose();
  }
}

function timeout(ms: number, what: string): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(what)), ms).unref());
}
