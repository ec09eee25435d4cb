import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { EventsV1Event, V1Lease } from '@kubernetes/client-node';
import { loadStackEnv } from '../../harness/stack-env.js';
import type { KubeApiClient } from '../../../operator/src/runtime/kube-client.js';
import {
  applyGlanceService,
  condition,
  createNamespace,
  deleteNamespace,
  getGlanceService,
  installCrd,
  suffix,
  testKube,
  waitFor,
} from './support.js';

// Two operator processes, as the chart's two replicas run: the leader is frozen (SIGSTOP, as a stalled node or
// VM does) until the other has taken over, then woken (SIGCONT). Who wrote is seen at the API server: every
// status write that changes a condition records an Event whose reportingInstance is the writer's
// `<hostname>_<pid>` and whose eventTime is its clock (both run on this machine).
const MAIN = new URL('../../../dist/operator/src/main.js', import.meta.url).pathname;
const LEASE = 'glance-operator-leader';
const ns = `glance-one-leader-${suffix()}`;
let kube: KubeApiClient;
const processes: Operator[] = [];

// Reconciling needs no external system for a spec it must refuse: each such object gets one Stalled status
// write and one Warning Event from whoever reconciles it.
const INVALID_SPEC = {
  image: 'x',
  database: { host: 'db', adminSecretRef: { name: 'db-admin' } },
  keystone: { authUrl: 'http://keystone:5000/v3', adminSecretRef: { name: 'keystone-admin' } },
  store: { backends: ['rbd'] },
};

interface Operator {
  child: ChildProcess;
  pid: number;
  output: () => string;
  exited: Promise<number | null>;
  port: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function startOperator(): Promise<Operator> {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH,
      KUBECONFIG: loadStackEnv().KUBECONFIG,
      WATCH_NAMESPACE: ns,
      POD_NAMESPACE: ns,
      HEALTH_ADDRESS: '127.0.0.1',
      HEALTH_PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const op = { child, pid: child.pid ?? 0, output: () => output, exited, port };
  processes.push(op);
  await waitFor('/healthz', async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 30_000, 100);
  return op;
}

async function holder(): Promise<string | undefined> {
  try {
    const lease = await kube.coordination.readNamespacedLease({ name: LEASE, namespace: ns });
    return (lease as V1Lease).spec?.holderIdentity;
  } catch {
    return undefined;
  }
}

const holderIs = (op: Operator) => async () => (await holder())?.endsWith(`_${op.pid}`);
const writer = (e: EventsV1Event) => Number(e.reportingInstance?.split('_').pop());
const eventTime = (e: EventsV1Event) => new Date(e.eventTime as unknown as string).getTime();

async function stalled(name: string): Promise<boolean> {
  return condition(await getGlanceService(kube, ns, name), 'Stalled')?.reason === 'InvalidSpec';
}

async function events(): Promise<EventsV1Event[]> {
  return (await kube.events.listNamespacedEvent({ namespace: ns })).items.filter(
    (e) => e.reportingController !== undefined && e.reason === 'InvalidSpec',
  );
}

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  kube = testKube();
  await installCrd(kube);
  await createNamespace(kube, ns);
});

afterAll(async () => {
  for (const op of processes) op.child.kill('SIGKILL');
  if (kube) await deleteNamespace(kube, ns);
});

describe('two operator processes', () => {
  it('never write in the same period: a leader frozen past its lease writes nothing when it wakes, and exits', async () => {
    const a = await startOperator();
    await waitFor('a to lead', holderIs(a), 30_000, 100);
    await applyGlanceService(kube, ns, 'before', INVALID_SPEC);
    await waitFor('a to reconcile "before"', () => stalled('before'), 30_000, 200);
    const b = await startOperator();

    a.child.kill('SIGSTOP');
    const frozenAt = Date.now();
    // Work that a sees (its watch delivers it) only when it wakes, while b starts on it as the new leader.
    const during = Array.from({ length: 20 }, (_, i) => `during-${i}`);
    for (const name of during) await applyGlanceService(kube, ns, name, INVALID_SPEC);
    await waitFor('b to take over', holderIs(b), 60_000, 50);
    a.child.kill('SIGCONT');

    // The woken leader finds its lease gone and exits non-zero, for its Deployment to restart it.
    let timer: NodeJS.Timeout | undefined;
    const stillRunning = new Promise((resolve) => (timer = setTimeout(resolve, 30_000, 'still running')));
    const code = await Promise.race([a.exited, stillRunning]);
    clearTimeout(timer);
    expect(code).toBe(1);
    expect(a.output()).toContain('lost the leader lease');

    for (const name of during) await waitFor(`b to reconcile ${name}`, () => stalled(name), 60_000, 200);
    const all = await events();
    const byA = all.filter((e) => writer(e) === a.pid);
    const byB = all.filter((e) => writer(e) === b.pid);
    // a wrote while it led; b wrote every object created meanwhile; nothing else wrote.
    expect(byA.map((e) => e.regarding?.name)).toEqual(['before']);
    expect(byB.map((e) => e.regarding?.name).sort()).toEqual([...during].sort());
    expect(byA.length + byB.length).toBe(all.length);
    // Never both in one period: a's last write was before it was frozen, before b's first.
    const lastByA = Math.max(...byA.map(eventTime));
    expect(lastByA).toBeLessThan(frozenAt);
    expect(lastByA).toBeLessThan(Math.min(...byB.map(eventTime)));

    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    expect(await holder()).toBe('');
  }, 180_000);
});
