import { setTimeout as sleep } from 'node:timers/promises';
import { V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { KubeApiClient } from './kube-client.js';
import { describeKubeError, isConflict, isNotFound } from './kube-errors.js';
import type { OperatorMetrics } from './operator-metrics.js';

export interface LeaderElectionOptions {
  namespace: string;
  leaseName: string;
  identity: string;
  /** How long a lease stays valid without renewal: a dead leader is replaced after this long. */
  leaseDurationMs: number;
  /** A leader that cannot renew for this long steps down, before anyone else may take over. */
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export const DEFAULT_LEADER_TIMINGS = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection: writes carry the
 * resourceVersion read, so two candidates never both win, and expiry is judged by this process's clock from
 * when it last saw the lease change, so clock skew between nodes does not matter.
 */
export class LeaderElector {
  private observed: { resourceVersion: string; at: number } | undefined;
  private leading = false;

  constructor(
    private readonly kube: KubeApiClient,
    private readonly opts: LeaderElectionOptions,
    private readonly metrics: OperatorMetrics,
    private readonly log: Logger,
  ) {
    if (opts.renewDeadlineMs >= opts.leaseDurationMs) {
      throw new RangeError('the renew deadline must be shorter than the lease duration');
    }
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * Waits until this process leads (or `signal` aborts), then keeps renewing; resolves when leadership ends:
   * 'lost' when renewal failed past the deadline (stop working at once: someone else may lead already), or
   * 'aborted'. After an abort the lease is still held: stop the work, then release() it so that a successor
   * need not wait for it to expire.
   */
  async run(signal: AbortSignal, onLeading: () => void): Promise<'aborted' | 'lost'> {
    while (!signal.aborted && !(await this.tryAcquireOrRenew())) {
      await sleep(this.opts.retryPeriodMs, undefined, { signal }).catch(() => undefined);
    }
    if (signal.aborted) return 'aborted';
    this.setLeading(true);
    onLeading();
    let lastRenew = Date.now();
    while (!signal.aborted) {
      await sleep(this.opts.retryPeriodMs, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) break;
      if (await this.tryAcquireOrRenew()) {
        lastRenew = Date.now();
      } else if (Date.now() - lastRenew > this.opts.renewDeadlineMs) {
        this.setLeading(false);
        this.log.error({ lease: this.opts.leaseName }, 'lost the leader lease');
        return 'lost';
      }
    }
    return 'aborted';
  }

  private setLeading(leading: boolean): void {
    this.leading = leading;
    this.metrics.isLeader.set(leading ? 1 : 0, { lease: this.opts.leaseName });
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

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, leaseName: name, identity } = this.opts;
    const api = this.kube.coordination;
    try {
      let lease: V1Lease;
      try {
        lease = await api.readNamespacedLease({ name, namespace });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        this.kube.countWrite('create', 'Lease');
        await api.createNamespacedLease({ namespace, body: this.leaseBody(undefined, new V1MicroTime()) });
        return true;
      }
      const rv = lease.metadata?.resourceVersion ?? '';
      if (this.observed?.resourceVersion !== rv) this.observed = { resourceVersion: rv, at: Date.now() };
      const holder = lease.spec?.holderIdentity;
      const durationMs = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
      const expired = Date.now() > this.observed.at + durationMs;
      if (holder && holder !== identity && !expired) return false;
      this.kube.countWrite('replace', 'Lease');
      await api.replaceNamespacedLease({ name, namespace, body: this.leaseBody(lease, new V1MicroTime()) });
      return true;
    } catch (err) {
      if (!isConflict(err))
        this.log.warn({ lease: name, err: describeKubeError(err) }, 'lease update failed');
      return false;
    }
  }

  /** Gives the lease up if this process holds it. */
  async release(): Promise<void> {
    const { namespace, leaseName: name, identity } = this.opts;
    this.setLeading(false);
    try {
      const lease = await this.kube.coordination.readNamespacedLease({ name, namespace });
      if (lease.spec?.holderIdentity !== identity) return;
      this.kube.countWrite('replace', 'Lease');
      await this.kube.coordination.replaceNamespacedLease({
        name,
        namespace,
        body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1 } },
      });
    } catch (err) {
      this.log.warn({ lease: name, err: describeKubeError(err) }, 'could not release the lease');
    }
  }
}
