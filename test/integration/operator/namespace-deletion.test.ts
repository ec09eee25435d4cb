import { jest } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import type { EventsV1Event, KubernetesObject, V1Service } from '@kubernetes/client-node';
import { PatchStrategy } from '@kubernetes/client-node';
import type mysql from 'mysql2/promise';
import { GLANCE_SERVICE } from '../../../operator/src/api/glance-service-types.js';
import { IMAGE, type ImageObject } from '../../../operator/src/api/image-types.js';
import type { KubeApiClient } from '../../../operator/src/runtime/kube-client.js';
import { loadStackEnv } from '../../harness/stack-env.js';
import { fromPods } from './e2e-target.js';
import { serveBytes, SourceServer } from './image/source-server.js';
import { cephAuth, cleanUpServices, keystoneUser, namesFor } from './services.js';
import {
  adminDb,
  applyGlanceService,
  cephMonHost,
  condition,
  createAdminSecrets,
  createNamespace,
  getGlanceService,
  installCrd,
  startOperator,
  suffix,
  testKube,
  waitFor,
  type RunningOperator,
  stackUrlPolicy,
} from './support.js';

// Deleting a whole namespace that holds the admin Secrets, a GlanceService (Ready, its pods running on the stack's
// node) and an Image uploaded through it. The namespace controller deletes the Secrets at once, so the operator may
// find its admin credentials gone: whatever it can still reach it cleans, whatever it cannot it names in a Warning,
// and the namespace goes within a bound either way.
jest.setTimeout(600_000);

const env = loadStackEnv();
const sfx = suffix();
const ns = `ns-del-${sfx}`;
const NAME = 'doomed';
const names = namesFor('nsdel', 'n', sfx);
// Short, so that a cleanup that retries an outage reaches its deadline well inside the bound below.
const DELETION_TIMEOUT_MS = 60_000;
// The bound a person would wait for `kubectl delete namespace`: the deletion timeout plus the time to act on it.
const NAMESPACE_GONE_WITHIN_MS = 180_000;

const raw = randomBytes(256 * 1024);
const source = new SourceServer();

let kube: KubeApiClient;
let db: mysql.Connection;
let operator: RunningOperator;

function specFor(endpoint?: string) {
  return {
    image: env.GLANCE_IMAGE,
    deletionPolicy: 'Delete',
    ...(endpoint ? { endpoints: { public: endpoint, internal: endpoint, admin: endpoint } } : {}),
    database: {
      host: fromPods(env.DB_HOST ?? ''),
      port: Number(env.DB_PORT),
      name: names.db,
      user: names.dbUser,
      adminSecretRef: { name: 'db-admin' },
    },
    keystone: {
      authUrl: fromPods(env.OS_AUTH_URL ?? ''),
      region: names.region,
      adminSecretRef: { name: 'keystone-admin' },
      userName: names.user,
      serviceName: names.service,
    },
    ceph: {
      monHost: fromPods(cephMonHost()),
      adminSecretRef: { name: 'ceph-admin' },
      pool: names.pool,
      pgNum: 8,
      user: names.cephUser,
    },
    store: { backends: ['file', 'rbd'], default: 'file' },
  };
}

async function databaseExists(name: string): Promise<boolean> {
  const [rows] = await db.query<mysql.RowDataPacket[]>(
    'SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
    [name],
  );
  return rows.length > 0;
}

async function namespaceExists(): Promise<boolean> {
  return kube.core.readNamespace({ name: ns }).then(
    () => true,
    () => false,
  );
}

/** The operator's Warnings about this namespace's objects, recorded about the Namespace while it was going. */
async function warnings(): Promise<EventsV1Event[]> {
  const list = await kube.events.listNamespacedEvent({ namespace: 'default' });
  return list.items.filter(
    (e) => e.regarding?.kind === 'Namespace' && e.regarding.name === ns && e.type === 'Warning',
  );
}

beforeAll(async () => {
  kube = testKube();
  db = await adminDb();
  await installCrd(kube);
  await createNamespace(kube, ns);
  await createAdminSecrets(kube, ns);
  await source.start();
  source.route('/disk.raw', serveBytes(raw));
  operator = await startOperator(ns, {
    images: true,
    deletionTimeoutMs: DELETION_TIMEOUT_MS,
    urlPolicy: stackUrlPolicy([`127.0.0.1:${source.port}`]),
  });
});

afterAll(async () => {
  await operator?.stop();
  await source.stop();
  if (kube && (await namespaceExists())) {
    // Only after a failure: let the namespace go, whatever holds it.
    for (const type of [IMAGE, GLANCE_SERVICE]) {
      const list = (await kube.custom.listNamespacedCustomObject({ ...type, namespace: ns })) as {
        items: KubernetesObject[];
      };
      for (const o of list.items) {
        await kube.mergePatchCustom(type, ns, o.metadata?.name ?? '', { metadata: { finalizers: null } });
      }
    }
    await kube.core.deleteNamespace({ name: ns }).catch(() => undefined);
  }
  if (db) {
    await cleanUpServices(db, names);
    await db.end();
  }
});

it('a namespace with Secrets, a Ready GlanceService and a Ready Image is gone within the bound, leaving only what it names', async () => {
  // The API Service's cluster address, which this machine routes into the node, is the catalog's endpoint: the
  // operator in this process uploads the Image through it.
  await applyGlanceService(kube, ns, NAME, specFor());
  const service = await waitFor('the API Service', async () => {
    const s = await kube.read<V1Service>({
      apiVersion: 'v1',
      kind: 'Service',
      namespace: ns,
      name: `${NAME}-api`,
    });
    return s?.spec?.clusterIP;
  });
  await applyGlanceService(kube, ns, NAME, specFor(`http://${service}:9292`));
  await waitFor(
    'the GlanceService to be Ready',
    async () => {
      const gs = await getGlanceService(kube, ns, NAME);
      return condition(gs, 'Ready')?.status === 'True' && gs?.status?.endpoints?.public?.includes(service);
    },
    300_000,
    1000,
  );

  const image: KubernetesObject & { spec: object } = {
    apiVersion: 'glance.stackops.dev/v1alpha1',
    kind: 'Image',
    metadata: { name: 'cirros', namespace: ns },
    spec: {
      glanceServiceRef: { name: NAME },
      diskFormat: 'raw',
      source: {
        url: source.url('/disk.raw'),
        checksum: `sha256:${createHash('sha256').update(raw).digest('hex')}`,
      },
    },
  };
  await kube.objects.patch(
    image,
    undefined,
    undefined,
    'ns-deletion-test',
    true,
    PatchStrategy.ServerSideApply,
  );
  await waitFor(
    'the Image to be Ready',
    async () => (await kube.getCustom<ImageObject>(IMAGE, ns, 'cirros'))?.status?.phase === 'Ready',
    180_000,
    1000,
  );
  expect(await databaseExists(names.db)).toBe(true);
  expect(await keystoneUser(names.user)).toBeDefined();
  expect(await cephAuth(names.cephUser)).toBeDefined();

  await kube.core.deleteNamespace({ name: ns });
  await waitFor(
    'the namespace to be gone',
    async () => !(await namespaceExists()),
    NAMESPACE_GONE_WITHIN_MS,
    1000,
  );

  // Whatever is still there in MariaDB, Keystone and Ceph is named in a Warning, with why; nothing else is left.
  const notes = (await warnings()).map((e) => e.note ?? '');
  const named = (what: string) => notes.some((n) => n.includes(what) && n.includes('were left'));
  if (await databaseExists(names.db)) expect(named(`MariaDB database ${names.db}`)).toBe(true);
  if (await keystoneUser(names.user)) expect(named(`user ${names.user}`)).toBe(true);
  if (await cephAuth(names.cephUser)) expect(named(`Ceph user client.${names.cephUser}`)).toBe(true);
  for (const note of notes) {
    expect(note).not.toContain(env.DB_ADMIN_PASSWORD);
    expect(note).not.toContain(env.OS_PASSWORD);
  }
  // What it left, for whoever reads the test's output.
  console.log(`Warnings about ${ns}:\n${notes.join('\n') || '(none)'}`);
});
