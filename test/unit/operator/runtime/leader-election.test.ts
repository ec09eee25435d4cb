import { createServer, type Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { IMAGE } from '../../../../operator/src/api/image-types.js';
import { KubeEventRecorder } from '../../../../operator/src/runtime/events.js';
import { KubeApiClient } from '../../../../operator/src/runtime/kube-client.js';
import {
  checkLeaderTimings,
  DEFAULT_LEADER_TIMINGS,
  LeaderElector,
  type LeaderTimings,
} from '../../../../operator/src/runtime/leader-election.js';
import { createOperatorMetrics } from '../../../../operator/src/runtime/operator-metrics.js';
import { NotLeaderError } from '../../../../operator/src/runtime/write-fence.js';
import { FakeLeases } from '../../../fakes/lease-api.js';

const log = pino({ level: 'silent' });
const LEASE = { namespace: 'ops', leaseName: 'leader' };
// Short, with room between the renew deadline and the lease duration as in the defaults.
const timings: LeaderTimings = { leaseDurationMs: 1500, renewDeadlineMs: 500, retryPeriodMs: 50 };

function candidate(leases: FakeLeases, identity: string, clock?: () => number) {
  const connection = leases.connect();
  const metrics = createOperatorMetrics();
  const elector = new LeaderElector(
    connection,
    { ...LEASE, identity, ...timings, ...(clock ? { clock } : {}) },
    metrics,
    log,
  );
  return { elector, connection, metrics };
}

describe('leader timings', () => {
  it('refuse a renew deadline that is not shorter than the lease duration, and a retry period beyond it', () => {
    expect(() => checkLeaderTimings(DEFAULT_LEADER_TIMINGS)).not.toThrow();
    expect(() => checkLeaderTimings({ ...DEFAULT_LEADER_TIMINGS, renewDeadlineMs: 15_000 })).toThrow(
      /renew deadline must be shorter than the lease duration/,
    );
    expect(() => checkLeaderTimings({ ...DEFAULT_LEADER_TIMINGS, retryPeriodMs: 10_000 })).toThrow(
      /retry period/,
    );
    expect(
      () =>
        new LeaderElector(
          new FakeLeases().connect(),
          { ...LEASE, identity: 'a', leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2000 },
          createOperatorMetrics(),
          log,
        ),
    ).toThrow(RangeError);
  });
});

describe('LeaderElector', () => {
  const stops: Array<() => void> = [];
  afterEach(() => {
    for (const stop of stops.splice(0)) stop();
  });

  it('gives up when its renewals stop getting through, before another candidate can take over', async () => {
    const leases = new FakeLeases();
    const a = candidate(leases, 'a');
    stops.push(() => a.elector.stop());
    expect(await a.elector.acquire(new AbortController().signal)).toBe(true);
    expect(() => a.elector.check()).not.toThrow();
    expect(a.metrics.isLeader.get({ lease: LEASE.leaseName })).toBe(1);

    // The API server stops answering a: its renewals hang, and b campaigns meanwhile.
    a.connection.hang = true;
    const lostAt = new Promise<number>((resolve) =>
      a.elector.leadership.addEventListener('abort', () => resolve(performance.now())),
    );
    const b = candidate(leases, 'b');
    stops.push(() => b.elector.stop());
    expect(await b.elector.acquire(new AbortController().signal)).toBe(true);
    const bLedAt = performance.now();

    // By the time b leads, a has stopped: its writes are refused, and it was told before b won.
    expect(() => a.elector.check()).toThrow(NotLeaderError);
    expect(a.elector.leadership.reason).toBe('lost');
    expect(await lostAt).toBeLessThan(bLedAt);
    expect(a.metrics.isLeader.get({ lease: LEASE.leaseName })).toBe(0);
    expect(leases.holder(LEASE.namespace, LEASE.leaseName)).toBe('b');
  });

  it('steps down when it finds another holder of the lease, though the API server answers', async () => {
    const leases = new FakeLeases();
    const a = candidate(leases, 'a');
    stops.push(() => a.elector.stop());
    await a.elector.acquire(new AbortController().signal);
    const stepsDown = new Promise<void>((resolve) =>
      a.elector.leadership.addEventListener('abort', () => resolve()),
    );
    leases.takeOver(LEASE.namespace, LEASE.leaseName, 'someone-else');
    await stepsDown;
    expect(a.elector.leadership.reason).toBe('lost');
    expect(() => a.elector.check()).toThrow(NotLeaderError);
    expect(leases.holder(LEASE.namespace, LEASE.leaseName)).toBe('someone-else');
  });
});

describe('the write fence of KubeApiClient', () => {
  let server: Server;
  let requests: string[];
  let config: KubeConfig;

  beforeAll(async () => {
    requests = [];
    server = createServer((req, res) => {
      requests.push(`${req.method} ${req.url?.split('?')[0]}`);
      let body = '';
      req.setEncoding('utf8').on('data', (d: string) => (body += d));
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(body || '{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    config = new KubeConfig();
    config.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('lets nothing out once the deadline has passed by the clock, even before any timer ran (a frozen process waking)', async () => {
    let frozenFor = 0;
    const { elector } = candidate(new FakeLeases(), 'a', () => performance.now() + frozenFor);
    await elector.acquire(new AbortController().signal);
    const metrics = createOperatorMetrics();
    const kube = new KubeApiClient(config, metrics, 'test', elector);
    const events = new KubeEventRecorder(kube, 'test', 'a', log);
    const target = {
      apiVersion: 'glance.stackops.dev/v1alpha1',
      kind: 'Image',
      namespace: 'ns',
      name: 'img',
    };

    await kube.replaceCustomStatus(IMAGE, 'ns', 'img', '7', { phase: 'Ready' });
    await events.record(target, 'Normal', 'Test', 'while leading');
    expect(requests).toEqual([
      'PATCH /apis/glance.stackops.dev/v1alpha1/namespaces/ns/images/img/status',
      'POST /apis/events.k8s.io/v1/namespaces/ns/events',
    ]);
    const counted = metrics.writes.get({ system: 'kube', operation: 'patch-status', kind: 'Image' });

    // The process was stopped for longer than the renew deadline; no timer has run since it woke.
    frozenFor = timings.renewDeadlineMs + 1;
    const refused = [
      kube.replaceCustomStatus(IMAGE, 'ns', 'img', '8', { phase: 'Failed' }),
      kube.mergePatchCustom(IMAGE, 'ns', 'img', { metadata: { finalizers: [] } }),
      kube.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns' } }),
      kube.createIfAbsent({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns' } }),
      kube.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: 'c' }),
    ];
    for (const write of refused) await expect(write).rejects.toBeInstanceOf(NotLeaderError);
    await events.record(target, 'Warning', 'Test', 'after the deadline');
    expect(elector.leadership.aborted).toBe(false);

    expect(requests).toHaveLength(2);
    expect(metrics.writes.get({ system: 'kube', operation: 'patch-status', kind: 'Image' })).toBe(counted);
    elector.stop();
  });
});
