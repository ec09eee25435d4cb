import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { V1Deployment, V1Job, V1Pod } from '@kubernetes/client-node';
import type mysql from 'mysql2/promise';
import pino from 'pino';
import { GLANCE_SERVICE } from '../../../operator/src/api/glance-service-types.js';
import type { KubeClient } from '../../../operator/src/runtime/kube-client.js';
import { adminTokenFromStack } from '../../harness/keystone.js';
import { freePort } from '../../harness/local-runner/container-process.js';
import { startLocalRunner, type LocalRunner } from '../../harness/local-runner.js';
import { run } from '../../harness/run.js';
import { loadStackEnv } from '../../harness/stack-env.js';
import { cleanUpServices, endpointsOf, keystoneService, namesFor } from './services.js';
import {
  adminDb,
  applyGlanceService,
  cephMonHost,
  condition,
  createAdminSecrets,
  createNamespace,
  deleteNamespace,
  getGlanceService,
  installCrd,
  kubeConfig,
  startOperator,
  suffix,
  testKube,
  waitFor,
  type RunningOperator,
} from './support.js';

// The operator and the local runner together, as in a cluster: the operator's Job and Deployment run as
// processes of our api-server, and the real OpenStack client reaches them through the Keystone catalog.
const sfx = suffix();
const ns = `glance-run-${sfx}`;
const env = loadStackEnv();
const names = namesFor('run', 's', sfx);
const NAME = 'served';

let kube: KubeClient;
let db: mysql.Connection;
let operator: RunningOperator;
let runner: LocalRunner;
let workDir: string;
let serviceUrl: string;
let runnerLogs = '';

function specFor(extra: object = {}) {
  return {
    image: 'glance-operator/glance-api:test',
    deletionPolicy: 'Delete',
    endpoints: { public: serviceUrl, internal: serviceUrl, admin: serviceUrl },
    database: {
      host: env.DB_HOST,
      port: Number(env.DB_PORT),
      name: names.db,
      user: names.dbUser,
      adminSecretRef: { name: 'db-admin' },
    },
    keystone: {
      authUrl: env.OS_AUTH_URL,
      region: names.region,
      adminSecretRef: { name: 'keystone-admin' },
      userName: names.user,
      serviceName: names.service,
    },
    // The keyring and ceph.conf are mounted (and materialised) because rbd is a backend; uploads go to file.
    ceph: {
      monHost: cephMonHost(),
      adminSecretRef: { name: 'ceph-admin' },
      pool: names.pool,
      pgNum: 8,
      user: names.cephUser,
    },
    store: { backends: ['file', 'rbd'], default: 'file' },
    ...extra,
  };
}

/** The OpenStack CLI as a user of this GlanceService's region would run it, through the catalog. */
async function openstack(args: string[]): Promise<unknown> {
  const { stdout } = await run('openstack', [...args, '-f', 'json'], {
    env: { OS_REGION_NAME: names.region, OS_INTERFACE: 'public' },
  });
  return JSON.parse(stdout) as unknown;
}

/** On a timeout, what the runner and the processes said is the first thing to read. */
async function withLogs<T>(wait: Promise<T>): Promise<T> {
  try {
    return await wait;
  } catch (err) {
    const logs = path.join(workDir, 'state/logs');
    const files = await readdir(logs).catch(() => []);
    const containers = await Promise.all(
      files.map(async (f) => `--- ${f}\n${(await readFile(path.join(logs, f), 'utf8')).slice(-3000)}`),
    );
    throw new Error(`${String(err)}\n--- runner\n${runnerLogs.slice(-4000)}\n${containers.join('\n')}`);
  }
}

async function readyService() {
  return withLogs(
    waitFor(
      'the GlanceService to be Ready',
      async () => {
        const gs = await getGlanceService(kube, ns, NAME);
        const ready = condition(gs, 'Ready');
        return ready?.status === 'True' && ready.observedGeneration === gs?.metadata.generation
          ? gs
          : undefined;
      },
      240_000,
    ),
  );
}

async function apiPods(): Promise<V1Pod[]> {
  const list = await kube.core.listNamespacedPod({
    namespace: ns,
    labelSelector: `app.kubernetes.io/instance=${NAME},app.kubernetes.io/component=api`,
  });
  return list.items.filter((p) => !p.metadata?.deletionTimestamp);
}

async function imageOverHttp(id: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${serviceUrl}/v2/images/${id}`, {
    headers: { 'X-Auth-Token': await adminTokenFromStack() },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

const claimDir = () => path.join(workDir, 'state/claims', ns, `${NAME}-images`);
let imageId = '';

beforeAll(async () => {
  kube = testKube();
  db = await adminDb();
  workDir = await mkdtemp(path.join(tmpdir(), 'local-runner-test-'));
  serviceUrl = `http://127.0.0.1:${await freePort()}`;
  await installCrd(kube);
  await createNamespace(kube, ns);
  await createAdminSecrets(kube, ns);
  operator = await startOperator(ns);
  runner = await startLocalRunner({
    kubeConfig: kubeConfig(),
    namespace: ns,
    stateDir: path.join(workDir, 'state'),
    services: { [`${ns}/${NAME}-api`]: Number(new URL(serviceUrl).port) },
    log: pino(
      { level: 'debug' },
      new Writable({
        write(chunk: Buffer, _e, done) {
          runnerLogs += chunk.toString('utf8');
          done();
        },
      }),
    ),
  });
});

afterAll(async () => {
  await runner?.stop();
  await operator?.stop();
  if (kube) await deleteNamespace(kube, ns);
  if (db) {
    await cleanUpServices(db, names);
    await db.end();
  }
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('GlanceService served by our api-server through the local runner', () => {
  it('runs the migration Job, then the API Deployment, until Ready=True', async () => {
    await applyGlanceService(kube, ns, NAME, specFor());
    const gs = await readyService();
    for (const type of ['DatabaseReady', 'KeystoneReady', 'CephReady', 'ConfigReady', 'DeploymentReady']) {
      expect(condition(gs, type)).toMatchObject({ status: 'True' });
    }
    expect(condition(gs, 'DeploymentReady')?.reason).toBe('Available');
    expect(gs.status?.readyReplicas).toBe(1);

    // The real Job and Deployment controllers got there from the pods' status.
    const jobs = await kube.list<V1Job>('batch/v1', 'Job', ns, `app.kubernetes.io/instance=${NAME}`);
    expect(jobs.map((j) => j.status?.succeeded)).toEqual([1]);
    const deployment = await kube.read<V1Deployment>({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: ns,
      name: `${NAME}-api`,
    });
    expect(deployment?.spec?.paused).toBeUndefined();
    expect(deployment?.status).toMatchObject({ availableReplicas: 1, readyReplicas: 1, updatedReplicas: 1 });

    // db-sync created the schema in the GlanceService's own database.
    const [rows] = await db.query<mysql.RowDataPacket[]>(
      'SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
      [names.db, 'images'],
    );
    expect(Number(rows[0]?.n)).toBe(1);
    expect(gs.status?.endpoints).toEqual({ public: serviceUrl, internal: serviceUrl, admin: serviceUrl });
  });

  it('writes nothing anywhere while it stays Ready', async () => {
    const systems = ['kube', 'mysql', 'keystone', 'ceph'];
    const writes = () => Object.fromEntries(systems.map((s) => [s, operator.writes(s)]));
    const settled = operator.reconciles();
    await waitFor('a reconcile after Ready', async () => operator.reconciles() >= settled + 1);
    const before = writes();
    for (const system of systems) expect(before[system]).toBeGreaterThan(0);
    const start = operator.reconciles();
    await waitFor('two more reconciles', async () => operator.reconciles() >= start + 2, 60_000);
    expect(writes()).toEqual(before);
    expect(condition(await getGlanceService(kube, ns, NAME), 'Ready')?.status).toBe('True');
  });

  it('serves `openstack image create --public` and `openstack image list` through the Keystone catalog', async () => {
    const file = path.join(workDir, 'cirros-like.qcow2');
    await run('qemu-img', ['create', '-f', 'qcow2', file, '16M']);
    const bytes = await readFile(file);
    const created = (await openstack([
      'image',
      'create',
      `runner-${sfx}`,
      '--file',
      file,
      '--disk-format',
      'qcow2',
      '--container-format',
      'bare',
      '--public',
    ])) as { id: string; visibility: string };
    expect(created.visibility).toBe('public');
    imageId = created.id;

    const list = (await openstack(['image', 'list'])) as Array<{ ID: string; Name: string; Status: string }>;
    expect(list).toContainEqual({ ID: imageId, Name: `runner-${sfx}`, Status: 'active' });

    // It reached the process the operator configured: the row is in its database, the data in its claim.
    const [rows] = await db.query<mysql.RowDataPacket[]>(
      `SELECT status, size, checksum FROM ${db.escapeId(names.db)}.images WHERE id = ?`,
      [imageId],
    );
    expect(rows[0]).toMatchObject({
      status: 'active',
      size: bytes.length,
      checksum: createHash('md5').update(bytes).digest('hex'),
    });
    expect((await stat(path.join(claimDir(), imageId))).size).toBe(bytes.length);
  });

  it('rolls the process when the rendered configuration changes, and the new setting is in effect', async () => {
    const before = await getGlanceService(kube, ns, NAME);
    const [oldPod] = await apiPods();
    expect(await imageOverHttp(imageId)).not.toHaveProperty('direct_url');

    await applyGlanceService(
      kube,
      ns,
      NAME,
      specFor({ extraConfig: { DEFAULT: { show_image_direct_url: 'True' } } }),
    );
    const gs = await readyService();
    expect(gs.status?.configHash).not.toBe(before?.status?.configHash);
    const pods = await waitFor('the old pod to be gone', async () => {
      const pods = await apiPods();
      return pods.length === 1 && pods[0]?.metadata?.name !== oldPod?.metadata?.name ? pods : undefined;
    });
    expect(pods[0]?.metadata?.annotations?.['glance.stackops.dev/config-hash']).toBe(gs.status?.configHash);

    const image = await imageOverHttp(imageId);
    expect(image.direct_url).toBe(`file://${path.join(claimDir(), imageId)}`);
  });

  it('stops serving and leaves the catalog when the GlanceService is deleted', async () => {
    const service = await keystoneService(names.service);
    expect(service).toBeDefined();
    await kube.custom.deleteNamespacedCustomObject({ ...GLANCE_SERVICE, namespace: ns, name: NAME });
    await waitFor('the object to go', async () => !(await getGlanceService(kube, ns, NAME)), 120_000);
    expect(await endpointsOf(service?.id ?? '')).toEqual([]);
    await waitFor('the API pods to stop', async () => (await apiPods()).length === 0);
    await expect(fetch(`${serviceUrl}/`)).rejects.toThrow();
  });
});
