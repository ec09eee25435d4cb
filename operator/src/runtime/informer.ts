import {
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { describeKubeError } from './kube-errors.js';
import { ExponentialBackoff } from './rate-limiter.js';

/** What to list and watch: the collection's path and the matching list call. */
export interface WatchSource<T extends KubernetesObject = KubernetesObject> {
  /** For logs. */
  readonly description: string;
  readonly path: string;
  readonly list: () => Promise<KubernetesListObject<T>>;
  readonly labelSelector?: string;
}

export interface InformerHandlers<T extends KubernetesObject> {
  add(obj: T): void;
  update(obj: T): void;
  delete(obj: T): void;
}

/**
 * The client's informer stops for good on the first list or watch error; this one lists and watches again
 * with backoff until stopped, so an API server restart only delays events.
 */
export class ResilientInformer<T extends KubernetesObject> {
  private readonly informer: Informer<T> & ObjectCache<T>;
  private readonly backoff = new ExponentialBackoff(500, 30_000);
  private lastError: unknown;
  private stopped = true;
  private restartTimer: NodeJS.Timeout | undefined;
  private synced = false;
  /** Ends start()'s wait between attempts when stop() is called. */
  private wake: (() => void) | undefined;

  constructor(
    config: KubeConfig,
    private readonly source: WatchSource<T>,
    handlers: InformerHandlers<T>,
    private readonly log: Logger,
  ) {
    this.informer = makeInformer(config, source.path, source.list, source.labelSelector);
    this.informer.on('add', handlers.add);
    this.informer.on('update', handlers.update);
    this.informer.on('delete', handlers.delete);
    this.informer.on('error', (err: unknown) => {
      this.lastError = err ?? new Error('watch failed');
      if (this.synced && !this.stopped) this.scheduleRestart();
    });
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first list has succeeded (retrying until then), or when stopped. */
  async start(): Promise<void> {
    this.stopped = false;
    while (!this.stopped) {
      if (await this.listAndWatch()) {
        this.synced = true;
        return;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.restartTimer = setTimeout(() => {
          this.restartTimer = undefined;
          resolve();
        }, this.backoff.when('start'));
      });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.wake?.();
    await this.informer.stop();
  }

  private async listAndWatch(): Promise<boolean> {
    this.lastError = undefined;
    await this.informer.start();
    if (this.lastError === undefined) {
      this.backoff.forget('start');
      return true;
    }
    if (!this.stopped) {
      this.log.warn(
        { watch: this.source.description, err: describeKubeError(this.lastError) },
        'list/watch failed',
      );
    }
    return false;
  }

  private scheduleRestart(): void {
    if (this.restartTimer !== undefined) return;
    const delay = this.backoff.when('start');
    this.log.warn(
      { watch: this.source.description, err: describeKubeError(this.lastError), retryInMs: delay },
      'watch ended with an error; watching again',
    );
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopped) return;
      void this.listAndWatch().then((ok) => {
        if (!ok && !this.stopped) this.scheduleRestart();
      });
    }, delay);
  }
}
