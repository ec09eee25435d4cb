import type mysql from 'mysql2/promise';
import { GLANCE_SERVICE } from '../../../../operator/src/api/glance-service-types.js';
import type { KubeApiClient } from '../../../../operator/src/runtime/kube-client.js';
import { loadStackEnv } from '../../../harness/stack-env.js';
import {
  adminDb,
  applyGlanceService,
  condition,
  createAdminSecrets,
  createNamespace,
  deleteNamespace,
  getGlanceService,
  installCrd,
  keystone,
  startOperator,
  suffix,
  testKube,
  waitFor,
  type RunningOperator,
} from '../support.js';
import { cleanUpServices, endpointsOf, keystoneService, keystoneUser, namesFor } from '../services.js';

// A Keystone user and service an installer made before the operator came, with the names a GlanceService asks for.
const sfx = suffix();
const ns = `glance-own-${sfx}`;
const env = loadStackEnv();
const n = namesFor('own', 'k', sfx);
const NAME = 'owned';
const INSTALLER_PASSWORD = `installer-${sfx}`;

function spec(adopt: boolean) {
  return {
    image: 'glance-operator/glance-api:test',
    deletionPolicy: 'Delete',
    endpoints: { public: 'http://127.0.0.1:19292' },
    database: {
      host: env.DB_HOST,
      port: Number(env.DB_PORT),
      name: n.db,
      user: n.dbUser,
      adminSecretRef: { name: 'db-admin' },
    },
    keystone: {
      authUrl: env.OS_AUTH_URL,
      region: n.region,
      adminSecretRef: { name: 'keystone-admin' },
      userName: n.user,
      serviceName: n.service,
      adopt,
    },
    store: { backends: ['file'] },
  };
}

async function passwordWorks(password: string): Promise<boolean> {
  const res = await fetch(`${env.OS_AUTH_URL}/auth/tokens`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: n.user, domain: { name: 'Default' }, password } },
        },
      },
    }),
  });
  return res.status === 201;
}

let kube: KubeApiClient;
let operator: RunningOperator;
let db: mysql.Connection;
let userId: string;
let serviceId: string;

beforeAll(async () => {
  kube = testKube();
  db = await adminDb();
  await installCrd(kube);
  await createNamespace(kube, ns);
  await createAdminSecrets(kube, ns);
  const user = await keystone<{ user: { id: string } }>('POST', '/users', {
    user: { name: n.user, domain_id: 'default', password: INSTALLER_PASSWORD, enabled: true },
  });
  userId = user.body.user.id;
  const service = await keystone<{ service: { id: string } }>('POST', '/services', {
    service: { name: n.service, type: 'image', description: 'made by the installer', enabled: true },
  });
  serviceId = service.body.service.id;
  operator = await startOperator(ns);
});

afterAll(async () => {
  await operator?.stop();
  if (kube) await deleteNamespace(kube, ns);
  if (db) {
    await cleanUpServices(db, n);
    await db.end();
  }
});

describe('Keystone objects the operator did not create', () => {
  it('are refused (KeystoneReady NotOwned) and left as they were', async () => {
    await applyGlanceService(kube, ns, NAME, spec(false));
    const gs = await waitFor('KeystoneReady NotOwned', async () => {
      const gs = await getGlanceService(kube, ns, NAME);
      return condition(gs, 'KeystoneReady')?.reason === 'NotOwned' ? gs : undefined;
    });
    expect(condition(gs, 'KeystoneReady')?.message).toContain(
      `Keystone user ${n.user} already exists and was not created by this operator: set spec.keystone.adopt`,
    );
    expect(condition(gs, 'Stalled')).toMatchObject({ status: 'True', reason: 'NotOwned' });
    expect(await passwordWorks(INSTALLER_PASSWORD)).toBe(true);
    expect(await keystoneService(n.service)).toMatchObject({ id: serviceId });
    expect(await endpointsOf(serviceId)).toEqual([]);
  });

  it('are used with keystone.adopt, and kept when the GlanceService is deleted (deletionPolicy Delete)', async () => {
    await applyGlanceService(kube, ns, NAME, spec(true));
    await waitFor('KeystoneReady', async () => {
      const gs = await getGlanceService(kube, ns, NAME);
      return condition(gs, 'KeystoneReady')?.status === 'True' ? gs : undefined;
    });
    expect((await endpointsOf(serviceId)).map((e) => e.interface).sort()).toEqual([
      'admin',
      'internal',
      'public',
    ]);
    expect(await keystoneUser(n.user)).toMatchObject({ id: userId });

    await kube.custom.deleteNamespacedCustomObject({ ...GLANCE_SERVICE, namespace: ns, name: NAME });
    await waitFor('the GlanceService gone', async () =>
      (await getGlanceService(kube, ns, NAME)) ? undefined : true,
    );
    // Its own endpoints went; the adopted user and service stay.
    expect(await endpointsOf(serviceId)).toEqual([]);
    expect(await keystoneService(n.service)).toMatchObject({ id: serviceId });
    expect(await keystoneUser(n.user)).toMatchObject({ id: userId });
  });
});
