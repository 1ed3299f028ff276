import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { PortForwarder } from '../../../src/core/portforward/portForwarder';
import type { HostedDebuggee } from '../../support/debugTarget';
import { createNamespace, portForwardTo } from '../../support/testbed';
import { createPod, createService, deletePod, testbedPortForwarder } from '../portforward/kwokPods';

export interface ForwardedDebuggeeOptions {
  /** Prefix of the fresh namespace. */
  namespace: string;
  /** The Service, whose pods are named `<service>-1`, `<service>-2`, … */
  service: string;
  /** The debugger's port on the Service and pod. */
  port: number;
}

/**
 * A debuggee reached the way the extension reaches one: a Service with one pod in a fresh namespace, kwok
 * forwarding that pod's debug port to the app on this host, and a PortForwarder through the apiserver. The
 * workspace holds a copy of the app's source: breakpoints are set there and frames must come back mapped
 * there, not to `target.dir`.
 */
export class ForwardedDebuggee<T extends HostedDebuggee> {
  private app?: T;
  private ns?: { name: string; dispose(): Promise<void> };
  private portForwarder?: PortForwarder;
  private workspaceDir?: string;
  private podNumber = 1;

  private constructor(private readonly o: ForwardedDebuggeeOptions) {}

  /** Everything is up on return; on a failure what was made is removed before the error is thrown. */
  static async start<T extends HostedDebuggee>(
    startTarget: () => Promise<T>,
    o: ForwardedDebuggeeOptions,
  ): Promise<ForwardedDebuggee<T>> {
    const d = new ForwardedDebuggee<T>(o);
    try {
      const target = (d.app = await startTarget());
      d.ns = await createNamespace(o.namespace);
      await createService(d.ns.name, o.service, o.port);
      await createPod(d.ns.name, d.pod(), o.service);
      await portForwardTo(d.ns.name, d.pod(), o.port, '127.0.0.1', target.debuggerPort);
      d.portForwarder = testbedPortForwarder(d.ns.name, o.service, o.port);
      await d.portForwarder.start();
      d.workspaceDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandpiper-debug-ws-'));
      fs.copyFileSync(target.file, path.join(d.workspaceDir, path.basename(target.file)));
      return d;
    } catch (err) {
      await d.dispose();
      throw err;
    }
  }

  get target(): T {
    return this.app!;
  }

  get namespace(): string {
    return this.ns!.name;
  }

  get forwarder(): PortForwarder {
    return this.portForwarder!;
  }

  get workspace(): string {
    return this.workspaceDir!;
  }

  private pod(): string {
    return `${this.o.service}-${this.podNumber}`;
  }

  /** A rollout: the next pod comes up forwarding to the app, the old one goes, and the process restarts with it. */
  async replacePod(): Promise<void> {
    const old = this.pod();
    this.podNumber++;
    await portForwardTo(this.namespace, this.pod(), this.o.port, '127.0.0.1', this.target.debuggerPort);
    await createPod(this.namespace, this.pod(), this.o.service);
    await deletePod(this.namespace, old);
    await this.target.restart();
  }

  async dispose(): Promise<void> {
    await this.portForwarder?.dispose();
    await this.app?.dispose();
    await this.ns?.dispose();
    if (this.workspaceDir) fs.rmSync(this.workspaceDir, { recursive: true, force: true });
  }
}
