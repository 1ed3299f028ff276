import type { SandpiperConfig, ServiceConfig } from '../config/types';
import { presentError } from '../errors';
import { DockerImageBuilder, type ImageBuilder } from '../image/imageBuilder';
import type { Kube } from '../kube/client';
import { rebuildAndRollOut } from './redeploy';
import { SyncEngine } from './syncEngine';

export interface SyncSessionOptions {
  kube: Kube;
  namespace: string;
  config: SandpiperConfig;
  service: ServiceConfig;
  builder?: ImageBuilder;
  maxAttempts?: number;
  log?: (line: string) => void;
  /** Told when a rebuild starts, ends (ok or not). */
  onRebuild?: (phase: 'start' | 'done' | 'failed', detail?: string) => void;
}

/**
 * A sync engine plus its fallback: a change the sync cannot carry rebuilds the image, pushes it and rolls the
 * Deployment out, holding file batches meanwhile; the new pods get a full sync as they become ready.
 */
export class SyncSession {
  readonly engine: SyncEngine;
  private rebuildTimer?: NodeJS.Timeout;
  private rebuilding?: Promise<void>;
  private rebuildAgain = false;
  private readonly abort = new AbortController();
  private readonly builder: ImageBuilder;

  constructor(private readonly opts: SyncSessionOptions) {
    this.engine = new SyncEngine({ kube: opts.kube, namespace: opts.namespace, configRoot: opts.config.root, service: opts.service, maxAttempts: opts.maxAttempts });
    this.builder = opts.builder ?? new DockerImageBuilder();
    const log = opts.log ?? (() => undefined);
    this.engine.on('log', log);
    this.engine.on('rebuild', (file) => {
      log(`${file} changed: the image is rebuilt`);
      if (this.rebuildTimer) clearTimeout(this.rebuildTimer);
      // A save of several dependency files at once (package.json + lockfile) makes one rebuild.
      this.rebuildTimer = setTimeout(() => this.rebuild(), 300);
    });
  }

  start(): ReturnType<SyncEngine['start']> {
    return this.engine.start();
  }

  /** Resolves when the rebuild (if any) and the sync are done. */
  async idle(): Promise<void> {
    while (this.rebuildTimer || this.rebuilding) {
      await (this.rebuilding ?? new Promise((r) => setTimeout(r, 20)));
    }
    await this.engine.idle();
  }

  private rebuild(): void {
    this.rebuildTimer = undefined;
    if (this.rebuilding) {
      this.rebuildAgain = true;
      return;
    }
    const log = this.opts.log ?? (() => undefined);
    this.opts.onRebuild?.('start');
    this.rebuilding = this.engine
      .duringRebuild(async () => {
        const workload = await this.engine.resolveWorkload();
        return rebuildAndRollOut({ kube: this.opts.kube, config: this.opts.config, service: this.opts.service, workload, builder: this.builder, signal: this.abort.signal, onProgress: log });
      })
      .then((image) => {
        log(`rolled out ${image}`);
        this.opts.onRebuild?.('done', image);
      })
      .catch((err: unknown) => {
        const { message } = presentError(err);
        log(`rebuild failed: ${message}`);
        this.opts.onRebuild?.('failed', message);
      })
      .finally(() => {
        this.rebuilding = undefined;
        if (this.rebuildAgain) {
          this.rebuildAgain = false;
          this.rebuild();
        }
      });
  }

  dispose(): void {
    if (this.rebuildTimer) clearTimeout(this.rebuildTimer);
    this.abort.abort();
    this.engine.dispose();
  }
}
