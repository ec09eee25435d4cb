import type { WriteFence } from './write-fence.js';
import { performance } from 'node:perf_hooks';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { ResilientInformer, type WatchSource } from './informer.js';
import type { EventRecorder } from './events.js';
import type { KubeApiClient } from './kube-client.js';
import { describeKubeError, isConflict } from './kube-errors.js';
import type { OperatorMetrics } from './operator-metrics.js';
import { ExponentialBackoff } from './rate-limiter.js';
import { WorkQueue } from './work-queue.js';
import { NotLeaderError } from './write-fence.js';

export interface ObjectKey {
  namespace: string;
  name: string;
}

/** What a reconcile asks of the controller when it succeeds: nothing, or to be run again after a while. */
export interface ReconcileResult {
  requeueAfterMs?: number;
}

export type Reconcile = (key: ObjectKey, log: Logger) => Promise<ReconcileResult>;

/** The resource a controller reconciles; `apiVersion`/`kind` identify it in ownerReferences. */
export type PrimarySource = WatchSource & { apiVersion: string; kind: string };

export interface ControllerOptions {
  /** For logs and metrics. */
  name: string;
  config: KubeConfig;
  primary: PrimarySource;
  /** Objects the primary owns: a change of one reconciles its controlling owner. */
  owned: WatchSource[];
  reconcile: Reconcile;
  workers?: number;
  backoff?: { baseMs: number; maxMs: number };
  metrics: OperatorMetrics;
  log: Logger;
}

/** What each of the operator's controllers is built from: main.ts hands the same to all of them. */
export interface ResourceControllerOptions {
  kube: KubeApiClient;
  events: EventRecorder;
  metrics: OperatorMetrics;
  log: Logger;
  /** Watch one namespace only; default all. */
  namespace?: string;
  /** Success is re-checked this often: drift outside Kubernetes has no watch. */
  resyncMs: number;
  /** A Stalled object is retried this often, in case a person fixed what it waits for. */
  stalledRetryMs: number;
  /**
   * How long a deleted object keeps trying to clean up outside Kubernetes, from its deletionTimestamp; then
   * it leaves what is left, named in a Warning Event, and its finalizer goes.
   */
  deletionTimeoutMs: number;
  workers?: number;
  backoff?: { baseMs: number; maxMs: number };
  /**
   * Asked before every write to MariaDB, Keystone, Ceph and Glance, as the kube client asks it before writes to
   * the API server: a process that lost the lease changes nothing anywhere. Default: no fence.
   */
  fence?: WriteFence;
}

export const keyOf = (k: ObjectKey): string => `${k.namespace}/${k.name}`;

function parseKey(key: string): ObjectKey {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/**
 * What makes an update of the primary worth a reconcile. Status-only updates, most of them our own, are not:
 * the spec (generation), a deletion, labels and annotations are.
 */
function primarySignature(obj: KubernetesObject): string {
  const m = obj.metadata ?? {};
  return JSON.stringify([m.generation, m.deletionTimestamp, m.labels ?? {}, m.annotations ?? {}]);
}

/**
 * A generic level-triggered controller, after controller-runtime: informers turn changes into keys, a
 * de-duplicating work queue hands each key to one worker at a time, and a failed reconcile is retried with
 * per-key exponential backoff. The reconcile function reads the world itself; the key is all it is told.
 */
export class Controller {
  private readonly queue: WorkQueue;
  private readonly informers: Array<ResilientInformer<KubernetesObject>> = [];
  private readonly signatures = new Map<string, string>();
  private readonly workers: Array<Promise<void>> = [];
  private readonly labels: { controller: string };
  private running = false;

  constructor(private readonly opts: ControllerOptions) {
    const { metrics } = opts;
    this.labels = { controller: opts.name };
    const backoff = opts.backoff ?? { baseMs: 1000, maxMs: 300_000 };
    this.queue = new WorkQueue(new ExponentialBackoff(backoff.baseMs, backoff.maxMs), {
      onAdd: () => metrics.queueAdds.inc(this.labels),
      onRetry: () => metrics.queueRetries.inc(this.labels),
    });
    metrics.queueDepth.onCollect((g) => g.set(this.queue.length, this.labels));

    const primaryLog = opts.log.child({ watch: opts.primary.description });
    this.informers.push(
      new ResilientInformer(
        opts.config,
        opts.primary,
        {
          add: (obj) => this.onPrimary(obj, true),
          update: (obj) => this.onPrimary(obj, false),
          delete: (obj) => {
            const key = this.keyFor(obj);
            if (!key) return;
            this.signatures.delete(key);
            this.queue.add(key);
          },
        },
        primaryLog,
      ),
    );
    for (const source of opts.owned) {
      const enqueueOwner = (obj: KubernetesObject) => this.onOwned(obj);
      this.informers.push(
        new ResilientInformer(
          opts.config,
          source,
          { add: enqueueOwner, update: enqueueOwner, delete: enqueueOwner },
          opts.log.child({ watch: source.description }),
        ),
      );
    }
  }

  /** Whether every informer has listed once: the controller's readiness. */
  get hasSynced(): boolean {
    return this.informers.every((i) => i.hasSynced);
  }

  /** Starts the informers, waits for their first lists, then starts the workers. */
  async start(): Promise<void> {
    this.running = true;
    await Promise.all(this.informers.map((i) => i.start()));
    if (!this.running) return;
    const n = this.opts.workers ?? 2;
    for (let i = 0; i < n; i++) this.workers.push(this.work());
    this.opts.log.info({ controller: this.opts.name, workers: n }, 'controller started');
  }

  /** Stops watching, lets reconciles in flight finish, and resolves when the workers have exited. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.informers.map((i) => i.stop()));
    await this.queue.shutDown();
    await Promise.all(this.workers);
    this.opts.log.info({ controller: this.opts.name }, 'controller stopped');
  }

  /** Reconciles `key` soon: for changes no informer sees, such as the end of work running beside reconciles. */
  enqueue(key: ObjectKey): void {
    this.queue.add(keyOf(key));
  }

  private keyFor(obj: KubernetesObject): string | undefined {
    const { namespace, name } = obj.metadata ?? {};
    return namespace && name ? keyOf({ namespace, name }) : undefined;
  }

  private onPrimary(obj: KubernetesObject, added: boolean): void {
    const key = this.keyFor(obj);
    if (!key) return;
    const signature = primarySignature(obj);
    if (!added && this.signatures.get(key) === signature) return;
    this.signatures.set(key, signature);
    this.queue.add(key);
  }

  private onOwned(obj: KubernetesObject): void {
    const { apiVersion, kind } = this.opts.primary;
    const namespace = obj.metadata?.namespace;
    if (!namespace) return;
    for (const ref of obj.metadata?.ownerReferences ?? []) {
      if (ref.controller && ref.apiVersion === apiVersion && ref.kind === kind) {
        this.queue.add(keyOf({ namespace, name: ref.name }));
      }
    }
  }

  private async work(): Promise<void> {
    const { metrics, log } = this.opts;
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const started = performance.now();
      const keyLog = log.child({ controller: this.opts.name, object: key });
      try {
        const result = await reconcileKey(this.queue, key, this.opts.reconcile, keyLog);
        metrics.reconciles.inc({ ...this.labels, result });
      } finally {
        this.queue.done(key);
        metrics.reconcileSeconds.observe((performance.now() - started) / 1000, this.labels);
      }
    }
  }
}

/** How a reconcile ended, as glance_operator_reconcile_total{result} counts it. */
export type ReconcileOutcome = 'success' | 'requeue' | 'conflict' | 'error' | 'not-leader';

/**
 * Runs the reconcile of `key`, which the caller holds from the queue (and hands back with done()), and queues
 * what follows: the requeue it asked for; after an error a retry with backoff; after a 409 Conflict (the object
 * changed since it was read, by a person or another writer) a retry that reads it afresh, which is no fault;
 * and nothing once this process may no longer write, as it is stopping.
 */
export async function reconcileKey(
  queue: WorkQueue,
  key: string,
  reconcile: Reconcile,
  log: Logger,
): Promise<ReconcileOutcome> {
  try {
    const result = await reconcile(parseKey(key), log);
    queue.forget(key);
    if (result.requeueAfterMs === undefined) return 'success';
    queue.addAfter(key, result.requeueAfterMs);
    return 'requeue';
  } catch (err) {
    if (err instanceof NotLeaderError) {
      log.info('reconcile stopped: this process no longer leads');
      return 'not-leader';
    }
    const retryInMs = queue.addRateLimited(key);
    if (isConflict(err)) {
      log.info({ retryInMs }, 'the object changed since it was read; reconciling it again from a fresh read');
      return 'conflict';
    }
    log.error({ err: describeKubeError(err), retryInMs }, 'reconcile failed');
    return 'error';
  }
}
