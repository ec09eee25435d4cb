import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Observable,
  V1MicroTime,
  type ConfigurationOptions,
  type CoordinationV1Api,
  type RequestContext,
  type ResponseContext,
  type V1Lease,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { describeKubeError, isConflict, isNotFound } from './kube-errors.js';
import type { OperatorMetrics } from './operator-metrics.js';
import { NotLeaderError, type WriteFence } from './write-fence.js';

/** The Lease calls an elector makes. */
export type LeaseApi = Pick<
  CoordinationV1Api,
  'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'
>;

export interface LeaderTimings {
  /** How long a lease stays valid without renewal: a dead leader is replaced after this long. */
  leaseDurationMs: number;
  /** A leader that cannot renew for this long stops writing, before anyone else may take over. */
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export interface LeaderElectionOptions extends LeaderTimings {
  namespace: string;
  leaseName: string;
  identity: string;
  /** Monotonic milliseconds; a test may move it on to stand for a process that was frozen. */
  clock?: () => number;
}

/** client-go's defaults. */
export const DEFAULT_LEADER_TIMINGS: LeaderTimings = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

/**
 * The invariant that keeps two leaders apart: a leader stops writing `renewDeadlineMs` after it sent its last
 * successful renewal, and no other candidate takes the lease before `leaseDurationMs` after it saw that
 * renewal, so the renew deadline must be shorter than the lease duration (the difference is the time a write
 * let through just before the deadline has to land). Retrying must fit into the renew deadline.
 */
export function checkLeaderTimings(t: LeaderTimings): void {
  if (!(t.retryPeriodMs > 0 && t.retryPeriodMs < t.renewDeadlineMs)) {
    throw new RangeError('the retry period must be positive and shorter than the renew deadline');
  }
  if (t.renewDeadlineMs >= t.leaseDurationMs) {
    throw new RangeError('the renew deadline must be shorter than the lease duration');
  }
}

/** Request options that abort a Lease call after `ms`: a call that hangs must not hold the elector up. */
function bounded(ms: number): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (ctx: RequestContext) => {
          ctx.setSignal(AbortSignal.timeout(ms));
          return new Observable(Promise.resolve(ctx));
        },
        post: (res: ResponseContext) => new Observable(Promise.resolve(res)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

/** Why a term of leadership ended: the `reason` of the `leadership` signal. */
export type TermEnd = 'lost' | 'stopped';

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection: writes carry the
 * resourceVersion read, so two candidates never both win, and expiry is judged by this process's clock from
 * when it last saw the lease change, so clock skew between nodes does not matter.
 *
 * It is also the fence of the leader's writes (`check()`): a write is allowed only while the last renewal that
 * got through was sent less than the renew deadline ago, judged by the monotonic clock when asked. One elector
 * campaigns for one term; the process exits when the term ends.
 */
export class LeaderElector implements WriteFence {
  private observed: { resourceVersion: string; at: number } | undefined;
  private leading = false;
  /** Monotonic time until which this process may write. */
  private validUntil = -Infinity;
  private deadline: NodeJS.Timeout | undefined;
  private readonly term = new AbortController();
  private readonly now: () => number;
  private readonly requestOptions: ConfigurationOptions;

  constructor(
    private readonly leases: LeaseApi,
    private readonly opts: LeaderElectionOptions,
    private readonly metrics: OperatorMetrics,
    private readonly log: Logger,
  ) {
    checkLeaderTimings(opts);
    this.now = opts.clock ?? (() => performance.now());
    this.requestOptions = bounded(opts.renewDeadlineMs);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * Aborted when leadership ends, with reason 'lost' (no renewal got through within the renew deadline: stop
   * at once, someone else may lead soon) or 'stopped' (stop() or release()).
   */
  get leadership(): AbortSignal {
    return this.term.signal;
  }

  check(): void {
    if (this.leading && this.now() < this.validUntil) return;
    throw new NotLeaderError(
      `this process does not hold the lease ${this.opts.namespace}/${this.opts.leaseName}`,
    );
  }

  /**
   * Campaigns until this process holds the lease, then keeps renewing it in the background until the term
   * ends; false when `signal` aborted first.
   */
  async acquire(signal: AbortSignal): Promise<boolean> {
    for (;;) {
      if (signal.aborted || this.term.signal.aborted) return false;
      const sentAt = this.now();
      if ((await this.tryAcquireOrRenew()) === 'held') {
        this.setLeading(true);
        this.renewed(sentAt);
        void this.renewLoop();
        return true;
      }
      await sleep(this.opts.retryPeriodMs, undefined, { signal }).catch(() => undefined);
    }
  }

  /**
   * Stops renewing (writes are refused from now on) and keeps the lease, which expires for others. A renewal
   * still in flight may land, or fail on the resourceVersion that release() moved on: either way harmless.
   */
  stop(): void {
    this.endTerm('stopped');
  }

  /** Stops renewing and gives the lease up if this process holds it, so that a successor need not wait. */
  async release(): Promise<void> {
    this.stop();
    const { namespace, leaseName: name, identity } = this.opts;
    try {
      const lease = await this.leases.readNamespacedLease({ name, namespace }, this.requestOptions);
      if (lease.spec?.holderIdentity !== identity) return;
      this.countWrite();
      await this.leases.replaceNamespacedLease(
        {
          name,
          namespace,
          body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1 } },
        },
        this.requestOptions,
      );
    } catch (err) {
      this.log.warn({ lease: name, err: describeKubeError(err) }, 'could not release the lease');
    }
  }

  private async renewLoop(): Promise<void> {
    const { signal } = this.term;
    while (!signal.aborted) {
      await sleep(this.opts.retryPeriodMs, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) return;
      const sentAt = this.now();
      const attempt = await this.tryAcquireOrRenew();
      // A renewal that got through after the term ended does not bring it back: the process is stopping.
      if (signal.aborted) return;
      if (attempt === 'held') this.renewed(sentAt);
      if (attempt === 'taken') this.lose('another process holds the leader lease');
    }
  }

  /**
   * The lease was written by a request sent at `sentAt`: others see it no earlier than that, so writes stay
   * allowed until `sentAt` + the renew deadline. The timer only tells the process; `check()` reads the clock.
   */
  private renewed(sentAt: number): void {
    this.validUntil = sentAt + this.opts.renewDeadlineMs;
    clearTimeout(this.deadline);
    this.deadline = setTimeout(
      () => this.lose(`no renewal got through within the renew deadline (${this.opts.renewDeadlineMs} ms)`),
      Math.max(0, this.validUntil - this.now()),
    );
  }

  private lose(why: string): void {
    this.log.error({ lease: this.opts.leaseName }, `lost the leader lease: ${why}`);
    this.endTerm('lost');
  }

  private endTerm(reason: TermEnd): void {
    clearTimeout(this.deadline);
    this.validUntil = -Infinity;
    if (this.leading) this.setLeading(false);
    if (!this.term.signal.aborted) this.term.abort(reason);
  }

  private setLeading(leading: boolean): void {
    this.leading = leading;
    this.metrics.isLeader.set(leading ? 1 : 0, { lease: this.opts.leaseName });
  }

  private countWrite(): void {
    this.metrics.writes.inc({ system: 'kube', operation: 'replace', kind: 'Lease' });
  }

  private leaseBody(existing: V1Lease | undefined, now: V1MicroTime): V1Lease {
    const spec = existing?.spec ?? {};
    const wasMine = spec.holderIdentity === this.opts.identity;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.opts.leaseName,
        namespace: this.opts.namespace,
        ...(existing?.metadata?.resourceVersion
          ? { resourceVersion: existing.metadata.resourceVersion }
          : {}),
      },
      spec: {
        holderIdentity: this.opts.identity,
        leaseDurationSeconds: Math.ceil(this.opts.leaseDurationMs / 1000),
        acquireTime: wasMine && spec.acquireTime ? spec.acquireTime : now,
        renewTime: now,
        leaseTransitions: (spec.leaseTransitions ?? 0) + (existing && !wasMine ? 1 : 0),
      },
    };
  }

  /** 'held': this process holds the lease now; 'taken': another does; 'failed': no answer or a conflict. */
  private async tryAcquireOrRenew(): Promise<'held' | 'taken' | 'failed'> {
    const { namespace, leaseName: name, identity } = this.opts;
    const options = this.requestOptions;
    try {
      let lease: V1Lease;
      try {
        lease = await this.leases.readNamespacedLease({ name, namespace }, options);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        this.metrics.writes.inc({ system: 'kube', operation: 'create', kind: 'Lease' });
        const body = this.leaseBody(undefined, new V1MicroTime());
        await this.leases.createNamespacedLease({ namespace, body }, options);
        return 'held';
      }
      const rv = lease.metadata?.resourceVersion ?? '';
      if (this.observed?.resourceVersion !== rv) this.observed = { resourceVersion: rv, at: this.now() };
      const holder = lease.spec?.holderIdentity;
      const durationMs = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
      const expired = this.now() > this.observed.at + durationMs;
      if (holder && holder !== identity && !expired) return 'taken';
      this.countWrite();
      const body = this.leaseBody(lease, new V1MicroTime());
      await this.leases.replaceNamespacedLease({ name, namespace, body }, options);
      return 'held';
    } catch (err) {
      if (!isConflict(err))
        this.log.warn({ lease: name, err: describeKubeError(err) }, 'lease update failed');
      return 'failed';
    }
  }
}
