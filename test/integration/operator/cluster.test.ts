import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jest } from '@jest/globals';
import { PatchStrategy, type V1Deployment, type V1Job, type V1Pod } from '@kubernetes/client-node';
import type mysql from 'mysql2/promise';
import { GLANCE_SERVICE } from '../../../operator/src/api/glance-service-types.js';
import { IMAGE, type ImageObject } from '../../../operator/src/api/image-types.js';
import { KubeApiClient } from '../../../operator/src/runtime/kube-client.js';
import { createOperatorMetrics } from '../../../operator/src/runtime/operator-metrics.js';
import { adminTokenFromStack } from '../../harness/keystone.js';
import { run } from '../../harness/run.js';
import { serveBytes, SourceServer } from './image/source-server.js';
import { e2eGlanceServiceSpec, e2eKubeConfig, STACK_HOST, startE2e, type E2eBringUp } from './e2e-target.js';
import { cleanUpServices, endpointsOf, keystoneService, namesFor } from './services.js';
import {
  adminDb,
  applyGlanceService,
  condition,
  createAdminSecrets,
  createNamespace,
  deleteNamespace,
  eventsFor,
  getGlanceService,
  installCrd,
  keystone,
  suffix,
  waitFor,
} from './support.js';

// The end-to-end suite on a cluster of real components: the operator installed by its Helm chart as a pod, the
// migration Job and the API Deployment it creates run by the kubelet from our image, the real OpenStack client
// reaching them through the Keystone catalog, and Images uploaded into the GlanceService by the operator pod.
// The cluster is the local stack's own (containerd, kubelet, kube-proxy, CoreDNS) or, under E2E_TARGET=kind, a
// kind cluster (./e2e-target.ts).
// Pods start for real: the chart's rollout, then the migration Job and the API Deployment each pull nothing but
// start containers and pass their probes.
jest.setTimeout(600_000);

const sfx = suffix();
const ns = `glance-run-${sfx}`;
const names = namesFor('run', 's', sfx);
const NAME = 'served';

let kube: KubeApiClient;
let db: mysql.Connection;
let bringUp: E2eBringUp;
let workDir: string;
let serviceUrl: string;
// Images come from here; the pods reach it at the host's address, and its port is the one web-download may use.
const source = new SourceServer(STACK_HOST);

const specFor = (extraConfig: Record<string, Record<string, string>> = {}) =>
  e2eGlanceServiceSpec(bringUp, names, { sourcePort: source.port, extraConfig });

/** The OpenStack CLI as a user of this GlanceService's region would run it, through the catalog. */
async function openstack(args: string[]): Promise<unknown> {
  const { stdout } = await run('openstack', [...args, '-f', 'json'], {
    env: { OS_REGION_NAME: names.region, OS_INTERFACE: 'public' },
  });
  return JSON.parse(stdout) as unknown;
}

/** On a timeout, what the operator and the pods said is the first thing to read. */
async function withLogs<T>(wait: Promise<T>): Promise<T> {
  try {
    return await wait;
  } catch (err) {
    throw new Error(`${String(err)}\n${await bringUp.logs().catch((e: unknown) => String(e))}`);
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

let imageId = '';

beforeAll(async () => {
  kube = new KubeApiClient(e2eKubeConfig(), createOperatorMetrics(), 'glance-operator-tests');
  db = await adminDb();
  workDir = await mkdtemp(path.join(tmpdir(), 'cluster-test-'));
  await source.start();
  await installCrd(kube);
  await createNamespace(kube, ns);
  await createAdminSecrets(kube, ns);
  bringUp = await startE2e(ns, NAME);
  serviceUrl = bringUp.serviceUrl;
});

afterAll(async () => {
  // Images first, through the operator, while the GlanceService's Keystone user can still delete them.
  if (kube) {
    for (const name of ['by-ref', 'by-ref-web']) {
      await kube.custom
        .deleteNamespacedCustomObject({ ...IMAGE, namespace: ns, name })
        .catch(() => undefined);
    }
  }
  await bringUp?.stop();
  await source.stop();
  if (kube) await deleteNamespace(kube, ns);
  if (db) {
    await cleanUpServices(db, names);
    await db.end();
  }
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('GlanceService served by our api-server in real pods', () => {
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
    expect(gs.status?.endpoints).toEqual(bringUp.expectedEndpoints);
  });

  it('writes nothing anywhere while it stays Ready', async () => {
    const systems = ['kube', 'mysql', 'keystone', 'ceph'];
    const writes = async () =>
      Object.fromEntries(await Promise.all(systems.map(async (s) => [s, await bringUp.writes(s)])));
    const settled = await bringUp.reconciles();
    await waitFor('a reconcile after Ready', async () => (await bringUp.reconciles()) >= settled + 1);
    const before = await writes();
    for (const system of systems) expect(before[system]).toBeGreaterThan(0);
    const start = await bringUp.reconciles();
    await waitFor('two more reconciles', async () => (await bringUp.reconciles()) >= start + 2, 60_000);
    expect(await writes()).toEqual(before);
    expect(condition(await getGlanceService(kube, ns, NAME), 'Ready')?.status).toBe('True');
  });

  it('serves `openstack image create --public` and `openstack image list` through the Keystone catalog', async () => {
    const file = path.join(workDir, 'cirros-like.qcow2');
    await run('qemu-img', ['create', '-f', 'qcow2', file, '16M']);
    const bytes = await readFile(file);
    const created = (await openstack([
      'image',
      'create',
      `cirros-${sfx}`,
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
    expect(list).toContainEqual({ ID: imageId, Name: `cirros-${sfx}`, Status: 'active' });

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
    expect(await bringUp.claimFileSize(imageId)).toBe(bytes.length);
  });

  describe('Images whose target is this GlanceService', () => {
    const qcow2 = randomBytes(2 * 1024 * 1024);
    Buffer.from('QFI\xfb\x00\x00\x00\x03', 'latin1').copy(qcow2);
    const raw = randomBytes(1024 * 1024 + 17);
    const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

    async function applyImage(name: string, spec: object): Promise<void> {
      await kube.objects.patch(
        {
          apiVersion: 'glance.stackops.dev/v1alpha1',
          kind: 'Image',
          metadata: { name, namespace: ns },
          spec: { glanceServiceRef: { name: NAME }, ...spec },
        },
        undefined,
        undefined,
        'glance-operator-tests',
        true,
        PatchStrategy.ServerSideApply,
      );
    }

    const readyImage = (name: string) =>
      withLogs(
        waitFor(`Image ${name} to be Ready`, async () => {
          const obj = await kube.getCustom<ImageObject>(IMAGE, ns, name);
          return (
            obj?.status?.phase === 'Ready' && obj.status.observedGeneration === obj.metadata.generation && obj
          );
        }),
      );

    /** What users of the region see: the image active in the GlanceService's database, its bytes served. */
    async function expectServed(obj: ImageObject, data: Buffer): Promise<void> {
      const id = obj.status?.imageID ?? '';
      const [rows] = await db.query<mysql.RowDataPacket[]>(
        `SELECT status, size, checksum FROM ${db.escapeId(names.db)}.images WHERE id = ?`,
        [id],
      );
      expect(rows[0]).toMatchObject({ status: 'active', size: data.length, checksum: md5(data) });
      const res = await fetch(`${serviceUrl}/v2/images/${id}/file`, {
        headers: { 'X-Auth-Token': await adminTokenFromStack() },
      });
      expect(res.status).toBe(200);
      expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(data));
    }

    it("uploads with the Keystone user the operator registered, through the region's catalog", async () => {
      source.route('/by-ref.qcow2', serveBytes(qcow2));
      await applyImage('by-ref', {
        diskFormat: 'qcow2',
        source: { url: source.url('/by-ref.qcow2'), checksum: `sha256:${sha256(qcow2)}` },
      });
      const obj = await readyImage('by-ref');
      expect(obj.status?.method).toBe('upload');
      await expectServed(obj, qcow2);
      const [rows] = await db.query<mysql.RowDataPacket[]>(
        `SELECT owner FROM ${db.escapeId(names.db)}.images WHERE id = ?`,
        [obj.status?.imageID],
      );
      const { body } = await keystone<{ projects: Array<{ id: string }> }>('GET', '/projects?name=service');
      expect(rows[0]?.owner).toBe(body.projects[0]?.id);
    });

    it('lets the image service fetch the URL itself (web-download) when there is nothing to verify', async () => {
      source.route('/by-ref-web.raw', serveBytes(raw));
      await applyImage('by-ref-web', {
        diskFormat: 'raw',
        source: { url: source.url('/by-ref-web.raw'), decompress: 'none' },
      });
      const obj = await readyImage('by-ref-web');
      expect(obj.status?.method).toBe('web-download');
      await expectServed(obj, raw);
      // The api-server fetched it (one plain GET), not the operator.
      expect(source.requests('/by-ref-web.raw')).toEqual(['']);
      const events = await eventsFor(kube, ns, 'by-ref-web');
      expect(events.some((e) => e.reason === 'Imported')).toBe(true);
    });

    it('deletes the Glance images with the Images (deletionPolicy Delete)', async () => {
      const ids: string[] = [];
      for (const name of ['by-ref', 'by-ref-web']) {
        ids.push((await kube.getCustom<ImageObject>(IMAGE, ns, name))?.status?.imageID ?? '');
        await kube.custom.deleteNamespacedCustomObject({ ...IMAGE, namespace: ns, name });
      }
      await waitFor('the Images to go', async () => {
        const left = (await kube.custom.listNamespacedCustomObject({ ...IMAGE, namespace: ns })) as {
          items: unknown[];
        };
        return left.items.length === 0;
      });
      const [rows] = await db.query<mysql.RowDataPacket[]>(
        `SELECT status FROM ${db.escapeId(names.db)}.images WHERE id IN (?, ?)`,
        ids,
      );
      expect(rows.map((r) => r.status)).toEqual(['deleted', 'deleted']);
    });
  });

  it('rolls the process when the rendered configuration changes, and the new setting is in effect', async () => {
    const before = await getGlanceService(kube, ns, NAME);
    const [oldPod] = await apiPods();
    expect(await imageOverHttp(imageId)).not.toHaveProperty('direct_url');

    await applyGlanceService(kube, ns, NAME, specFor({ DEFAULT: { show_image_direct_url: 'True' } }));
    const gs = await readyService();
    expect(gs.status?.configHash).not.toBe(before?.status?.configHash);
    const pods = await waitFor('the old pod to be gone', async () => {
      const pods = await apiPods();
      return pods.length === 1 && pods[0]?.metadata?.name !== oldPod?.metadata?.name ? pods : undefined;
    });
    expect(pods[0]?.metadata?.annotations?.['glance.stackops.dev/config-hash']).toBe(gs.status?.configHash);

    const image = await imageOverHttp(imageId);
    expect(image.direct_url).toBe(`file://${bringUp.claimPath(imageId)}`);
  });

  it('stops serving and leaves the catalog when the GlanceService is deleted', async () => {
    const service = await keystoneService(names.service);
    expect(service).toBeDefined();
    await kube.custom.deleteNamespacedCustomObject({ ...GLANCE_SERVICE, namespace: ns, name: NAME });
    await waitFor('the object to go', async () => !(await getGlanceService(kube, ns, NAME)), 120_000);
    expect(await endpointsOf(service?.id ?? '')).toEqual([]);
    await waitFor('the API pods to stop', async () => (await apiPods()).length === 0);
    // Nothing answers for the Service any more: the kube-apiserver's proxy says the Service is gone (404) or, while
    // it is still there without endpoints, unavailable (503).
    const answer = await fetch(`${serviceUrl}/versions`).then(
      (res) => res.status,
      () => 'no connection',
    );
    expect([404, 503, 'no connection']).toContain(answer);
  });
});
