import type { V1Lease } from '@kubernetes/client-node';
import pino from 'pino';
import { LeaderElector } from '../../../../operator/src/runtime/leader-election.js';
import type { KubeApiClient } from '../../../../operator/src/runtime/kube-client.js';
import { createOperatorMetrics } from '../../../../operator/src/runtime/operator-metrics.js';
import { createNamespace, deleteNamespace, suffix, testKube, waitFor } from '../support.js';

const ns = `glance-le-${suffix()}`;
const LEASE = 'leader-test';
const timings = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 200 };
let kube: KubeApiClient;

function candidate(identity: string) {
  const metrics = createOperatorMetrics();
  const elector = new LeaderElector(
    kube.coordination,
    { namespace: ns, leaseName: LEASE, identity, ...timings },
    metrics,
    pino({ level: 'silent' }),
  );
  const abort = new AbortController();
  let ledAt: number | undefined;
  void elector.acquire(abort.signal).then((won) => {
    if (won) ledAt = Date.now();
  });
  return { elector, metrics, ledAt: () => ledAt };
}

async function holder(): Promise<string | undefined> {
  const lease = await kube.coordination.readNamespacedLease({ name: LEASE, namespace: ns });
  return (lease as V1Lease).spec?.holderIdentity;
}

beforeAll(async () => {
  kube = testKube();
  await createNamespace(kube, ns);
});
afterAll(async () => {
  if (kube) await deleteNamespace(kube, ns);
});

describe('leader election on a Lease', () => {
  it('lets one candidate lead, hands over at once on release, and only after expiry when the leader dies', async () => {
    const a = candidate('a');
    await waitFor('a to lead', async () => a.elector.isLeader, 10_000, 50);
    expect(a.metrics.isLeader.get({ lease: LEASE })).toBe(1);
    const b = candidate('b');
    await new Promise((r) => setTimeout(r, 1500));
    expect(b.elector.isLeader).toBe(false);
    expect(await holder()).toBe('a');

    // A graceful stop releases the lease: b need not wait for it to expire.
    const released = Date.now();
    await a.elector.release();
    expect(a.elector.leadership.reason).toBe('stopped');
    expect(a.metrics.isLeader.get({ lease: LEASE })).toBe(0);
    await waitFor('b to lead', async () => b.elector.isLeader, 10_000, 50);
    expect((b.ledAt() ?? Infinity) - released).toBeLessThan(timings.leaseDurationMs);
    expect(await holder()).toBe('b');

    // b "dies": it stops renewing without releasing. c takes over only once the lease has expired.
    b.elector.stop();
    const died = Date.now();
    const c = candidate('c');
    await waitFor('c to lead', async () => c.elector.isLeader, 15_000, 50);
    expect((c.ledAt() ?? 0) - died).toBeGreaterThanOrEqual(timings.leaseDurationMs - 200);
    const lease = await kube.coordination.readNamespacedLease({ name: LEASE, namespace: ns });
    expect(lease.spec).toMatchObject({ holderIdentity: 'c', leaseTransitions: 2 });
    await c.elector.release();
  });
});
