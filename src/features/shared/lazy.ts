import * as vscode from 'vscode';

/**
 * Activation registers every command, view and debugger that package.json contributes as a stand-in, and the
 * features that implement them load on first use (a command run, a view drawn, a debug session resolved) and
 * bind here. So activation evaluates none of the features' code; after first use a call costs one lookup more.
 */

type Handler = (...args: unknown[]) => unknown;

/** The part of package.json read here. */
export interface ContributionManifest {
  contributes?: {
    commands?: Array<{ command: string }>;
    views?: Record<string, Array<{ id: string; type?: string }>>;
    debuggers?: Array<{ type: string }>;
  };
}

const commands = new Map<string, Handler | undefined>();
const trees = new Map<string, LazyTree>();
const webviews = new Map<string, LazyWebview>();
const debuggers = new Map<string, LazyDebugger>();
/** The one URI handler an extension may have (vscode://sandpiper.sandpiper/…), bound by the feature that serves it. */
let uriHandler: vscode.UriHandler | undefined;
let ready: () => Promise<void> = () => Promise.reject(new Error('Sandpiper is not activated.'));

/** Registers the stand-ins; `load` registers the features (once, on the first use of any of them). */
export function deferContributions(manifest: ContributionManifest, load: () => Promise<void>): vscode.Disposable {
  let loading: Promise<void> | undefined;
  ready = () => (loading ??= load());
  const c = manifest.contributes ?? {};
  const subs: vscode.Disposable[] = [];
  for (const { command } of c.commands ?? []) {
    commands.set(command, undefined);
    subs.push(
      vscode.commands.registerCommand(command, async (...args: unknown[]) => {
        await ready();
        const handler = commands.get(command);
        if (!handler) throw unbound(command);
        return handler(...args);
      }),
    );
  }
  for (const view of Object.values(c.views ?? {}).flat()) {
    if (view.type === 'webview') {
      const stub = new LazyWebview(view.id);
      webviews.set(view.id, stub);
      subs.push(vscode.window.registerWebviewViewProvider(view.id, stub));
    } else {
      const stub = new LazyTree(view.id);
      trees.set(view.id, stub);
      stub.view = vscode.window.createTreeView(view.id, { treeDataProvider: stub });
      subs.push(stub, stub.view);
    }
  }
  const { Initial, Dynamic } = vscode.DebugConfigurationProviderTriggerKind;
  for (const { type } of c.debuggers ?? []) {
    const stub = new LazyDebugger(type);
    debuggers.set(type, stub);
    subs.push(
      vscode.debug.registerDebugConfigurationProvider(type, stub),
      vscode.debug.registerDebugAdapterDescriptorFactory(type, stub),
      // The Run and Debug list asks for dynamic configurations right after activation, before the features load.
      vscode.debug.registerDebugConfigurationProvider(type, stub.listing(Initial)),
      vscode.debug.registerDebugConfigurationProvider(type, stub.listing(Dynamic), Dynamic),
    );
  }
  // Registered at activation (`onUri`), like the other stand-ins: a link loads the features, then reaches them.
  subs.push(
    vscode.window.registerUriHandler({
      handleUri: async (uri) => {
        await ready();
        if (!uriHandler) throw unbound(`the link ${uri.path}`);
        await uriHandler.handleUri(uri);
      },
    }),
  );
  return new vscode.Disposable(() => {
    subs.forEach((s) => s.dispose());
    commands.clear();
    trees.clear();
    webviews.clear();
    debuggers.clear();
  });
}

/** Implements a contributed command (registers it outright when nothing deferred it). */
export function bindCommand(id: string, handler: Handler): vscode.Disposable {
  if (!commands.has(id)) return vscode.commands.registerCommand(id, handler);
  commands.set(id, handler);
  return new vscode.Disposable(() => commands.set(id, undefined));
}

/** Handles the extension's vscode:// links (the stand-in registered at activation forwards them here). */
export function bindUriHandler(handler: vscode.UriHandler): vscode.Disposable {
  uriHandler = handler;
  return new vscode.Disposable(() => (uriHandler = undefined));
}

/** Gives a contributed tree view its data (or creates the view when nothing deferred it). */
export function bindTreeView<T>(id: string, provider: vscode.TreeDataProvider<T>): vscode.Disposable {
  return trees.get(id)?.bind(provider) ?? vscode.window.createTreeView(id, { treeDataProvider: provider });
}

/** The contributed tree view itself (its title-bar description, badge…), once activation created it. */
export function contributedTreeView(id: string): vscode.TreeView<unknown> | undefined {
  return trees.get(id)?.view;
}

/** Gives a contributed webview view its provider (or registers it when nothing deferred it). */
export function bindWebviewView(id: string, provider: vscode.WebviewViewProvider): vscode.Disposable {
  return webviews.get(id)?.bind(provider) ?? vscode.window.registerWebviewViewProvider(id, provider);
}

/** Gives a contributed debugger its configuration provider (or registers it when nothing deferred it). */
export function bindDebugConfigurationProvider(
  type: string,
  provider: vscode.DebugConfigurationProvider,
): vscode.Disposable {
  // VS Code reads which methods a provider has when it is registered: the stand-in has only this one.
  if (provider.provideDebugConfigurations || provider.resolveDebugConfigurationWithSubstitutedVariables) {
    throw new Error('The deferred debug configuration provider forwards resolveDebugConfiguration only.');
  }
  const stub = debuggers.get(type);
  if (!stub) return vscode.debug.registerDebugConfigurationProvider(type, provider);
  stub.provider = provider;
  return new vscode.Disposable(() => (stub.provider = undefined));
}

/** Lists a contributed debugger's configurations (launch.json's initial ones and the dynamic Run and Debug list). */
export function bindDebugConfigurationLister(type: string, lister: DebugConfigurationLister): vscode.Disposable {
  const stub = debuggers.get(type);
  if (!stub) {
    const { Initial, Dynamic } = vscode.DebugConfigurationProviderTriggerKind;
    const provider = (kind: vscode.DebugConfigurationProviderTriggerKind) => ({
      provideDebugConfigurations: (f: vscode.WorkspaceFolder | undefined, t?: vscode.CancellationToken) =>
        lister(f, kind, t),
    });
    return vscode.Disposable.from(
      vscode.debug.registerDebugConfigurationProvider(type, provider(Initial)),
      vscode.debug.registerDebugConfigurationProvider(type, provider(Dynamic), Dynamic),
    );
  }
  stub.lister = lister;
  return new vscode.Disposable(() => (stub.lister = undefined));
}

export type DebugConfigurationLister = (
  folder: vscode.WorkspaceFolder | undefined,
  kind: vscode.DebugConfigurationProviderTriggerKind,
  token?: vscode.CancellationToken,
) => vscode.ProviderResult<vscode.DebugConfiguration[]>;

/** Gives a contributed debugger its adapter factory (or registers it when nothing deferred it). */
export function bindDebugAdapterDescriptorFactory(
  type: string,
  factory: vscode.DebugAdapterDescriptorFactory,
): vscode.Disposable {
  const stub = debuggers.get(type);
  if (!stub) return vscode.debug.registerDebugAdapterDescriptorFactory(type, factory);
  stub.factory = factory;
  return new vscode.Disposable(() => (stub.factory = undefined));
}

function unbound(what: string): Error {
  return new Error(`No Sandpiper feature implements ${what}.`);
}

class LazyTree implements vscode.TreeDataProvider<unknown>, vscode.Disposable {
  private target?: vscode.TreeDataProvider<unknown>;
  view?: vscode.TreeView<unknown>;
  private readonly changed = new vscode.EventEmitter<unknown>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly id: string) {}

  bind<T>(provider: vscode.TreeDataProvider<T>): vscode.Disposable {
    this.target = provider as vscode.TreeDataProvider<unknown>;
    // A view already shown asked for its rows before the feature loaded: that call returns them.
    const forwarding = provider.onDidChangeTreeData?.((e) => this.changed.fire(e));
    return new vscode.Disposable(() => {
      forwarding?.dispose();
      this.target = undefined;
    });
  }

  async getChildren(element?: unknown): Promise<unknown[]> {
    await ready();
    if (!this.target) throw unbound(`the ${this.id} view`);
    return (await this.target.getChildren(element)) ?? [];
  }

  /** Elements come from getChildren, so the provider is bound by then. */
  getTreeItem(element: unknown): vscode.TreeItem | Thenable<vscode.TreeItem> {
    if (!this.target) throw unbound(`the ${this.id} view`);
    return this.target.getTreeItem(element);
  }

  dispose(): void {
    this.changed.dispose();
  }
}

class LazyWebview implements vscode.WebviewViewProvider {
  private target?: vscode.WebviewViewProvider;

  constructor(private readonly id: string) {}

  bind(provider: vscode.WebviewViewProvider): vscode.Disposable {
    this.target = provider;
    return new vscode.Disposable(() => (this.target = undefined));
  }

  async resolveWebviewView(
    view: vscode.WebviewView,
    context: vscode.WebviewViewResolveContext,
    token: vscode.CancellationToken,
  ): Promise<void> {
    await ready();
    if (!this.target) throw unbound(`the ${this.id} view`);
    await this.target.resolveWebviewView(view, context, token);
  }
}

class LazyDebugger implements vscode.DebugConfigurationProvider, vscode.DebugAdapterDescriptorFactory {
  provider?: vscode.DebugConfigurationProvider;
  factory?: vscode.DebugAdapterDescriptorFactory;
  lister?: DebugConfigurationLister;

  constructor(private readonly type: string) {}

  /** A provider of one trigger kind whose only method lists configurations once the features are loaded. */
  listing(kind: vscode.DebugConfigurationProviderTriggerKind): vscode.DebugConfigurationProvider {
    return {
      provideDebugConfigurations: async (folder, token) => {
        await ready();
        return (await this.lister?.(folder, kind, token)) ?? [];
      },
    };
  }

  async resolveDebugConfiguration(
    folder: vscode.WorkspaceFolder | undefined,
    config: vscode.DebugConfiguration,
    token?: vscode.CancellationToken,
  ): Promise<vscode.DebugConfiguration | null | undefined> {
    await ready();
    return this.provider?.resolveDebugConfiguration
      ? this.provider.resolveDebugConfiguration(folder, config, token)
      : config;
  }

  async createDebugAdapterDescriptor(
    session: vscode.DebugSession,
    executable: vscode.DebugAdapterExecutable | undefined,
  ): Promise<vscode.DebugAdapterDescriptor | null | undefined> {
    await ready();
    if (!this.factory) throw unbound(`the ${this.type} debugger`);
    return this.factory.createDebugAdapterDescriptor(session, executable);
  }
}
