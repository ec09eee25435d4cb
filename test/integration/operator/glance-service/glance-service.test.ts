import type {
  KubernetesObject,
  V1Deployment,
  V1Job,
  V1PersistentVolumeClaim,
  V1PodDisruptionBudget,
  V1Secret,
  V1Service,
} from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import mysql from 'mysql2/promise';
import { GLANCE_SERVICE, OPERATOR_ACCESS_LABEL } from '../../../../operator/src/api/glance-service-types.js';
import type { KubeApiClient } from '../../../../operator/src/runtime/kube-client.js';
import { run } from '../../../harness/run.js';
import { loadStackEnv } from '../../../harness/stack-env.js';
import {
  adminDb,
  applyGlanceService,
  cephMonHost,
  condition,
  createAdminSecrets,
  createNamespace,
  createSecret,
  deleteNamespace,
  eventsFor,
  getGlanceService,
  installCrd,
  keystone,
  startOperator,
  suffix,
  testKube,
  waitFor,
  type RunningOperator,
} from '../support.js';
import {
  cephAuth,
  cleanUpServices,
  endpointsOf,
  keystoneService,
  keystoneRegion,
  keystoneUser,
  namesFor,
  poolApplications,
  type Names,
} from '../services.js';

// One namespace and one set of names per run: the stack's own `glance` user, service, endpoints
// (RegionOne/RegionTwo), database and pool `images` are never touched.
const sfx = suffix();
const ns = `glance-op-${sfx}`;
const env = loadStackEnv();
const PUBLIC_URL = 'http://127.0.0.1:19292';

const main = namesFor('op', 'a', sfx);
const kept = namesFor('op', 'k', sfx);
const bad = namesFor('op', 'b', sfx);

function specFor(n: Names, extra: object = {}) {
  return {
    image: 'glance-operator/glance-api:test',
    deletionPolicy: 'Delete',
    endpoints: { public: PUBLIC_URL, internal: PUBLIC_URL },
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
    },
    ceph: {
      monHost: cephMonHost(),
      adminSecretRef: { name: 'ceph-admin' },
      pool: n.pool,
      pgNum: 8,
      user: n.cephUser,
    },
    store: { backends: ['rbd', 'file'] },
    ...extra,
  };
}

let kube: KubeApiClient;
let operator: RunningOperator;
let db: mysql.Connection;

async function secretValue(name: string, key: string): Promise<string> {
  const s = await kube.read<V1Secret>({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name });
  const v = s?.data?.[key];
  if (v === undefined) throw new Error(`Secret ${name} has no ${key}`);
  return Buffer.from(v, 'base64').toString('utf8');
}

async function grantsFor(user: string, host: string): Promise<string[]> {
  const [rows] = await db.query<mysql.RowDataPacket[]>('SHOW GRANTS FOR ?@?', [user, host]);
  return rows.map((r) => String(Object.values(r)[0]));
}

async function databaseExists(name: string): Promise<boolean> {
  const [rows] = await db.query<mysql.RowDataPacket[]>(
    'SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
    [name],
  );
  return rows.length > 0;
}

async function dbUserHosts(user: string): Promise<string[]> {
  const [rows] = await db.query<mysql.RowDataPacket[]>('SELECT Host FROM mysql.user WHERE User = ?', [user]);
  return rows.map((r) => String(r.Host)).sort();
}

async function eventReasons(name: string): Promise<string[]> {
  return (await eventsFor(kube, ns, name)).map((e) => e.reason ?? '');
}

const count = (list: string[], reason: string) => list.filter((r) => r === reason).length;

beforeAll(async () => {
  kube = testKube();
  db = await adminDb();
  await installCrd(kube);
  await createNamespace(kube, ns);
  await createAdminSecrets(kube, ns);
  operator = await startOperator(ns);
});

afterAll(async () => {
  await operator?.stop();
  if (kube) await deleteNamespace(kube, ns);
  if (db) {
    for (const n of [main, kept, bad]) await cleanUpServices(db, n);
    await db.end();
  }
});

describe('GlanceService on the local stack', () => {
  it('provisions MariaDB, Keystone, Ceph and the Kubernetes objects as the install guide does', async () => {
    await applyGlanceService(kube, ns, 'images', specFor(main));
    const gs = await waitFor(
      'every step but the Deployment to be ready',
      async () => {
        const gs = await getGlanceService(kube, ns, 'images');
        return condition(gs, 'ConfigReady')?.status === 'True' &&
          condition(gs, 'DeploymentReady')?.reason === 'MigrationPending'
          ? gs
          : undefined;
      },
      180_000,
    );
    expect(gs.metadata.finalizers).toContain('glance.stackops.dev/cleanup');
    expect(gs.status?.observedGeneration).toBe(gs.metadata.generation);
    for (const type of ['DatabaseReady', 'KeystoneReady', 'CephReady', 'ConfigReady']) {
      expect(condition(gs, type)).toMatchObject({
        status: 'True',
        observedGeneration: gs.metadata.generation,
      });
    }
    // No kubelet runs here, so the migration Job never completes and the Deployment stays paused.
    expect(condition(gs, 'Ready')).toMatchObject({ status: 'False', reason: 'MigrationPending' });
    expect(condition(gs, 'Reconciling')).toMatchObject({ status: 'True' });
    expect(condition(gs, 'Stalled')).toBeUndefined();

    // MariaDB: database, both accounts, ALL PRIVILEGES, and the generated password works.
    const dbPassword = await secretValue('images-db-password', 'password');
    expect(await databaseExists(main.db)).toBe(true);
    for (const host of ['localhost', '%']) {
      expect(await grantsFor(main.dbUser, host)).toContain(
        `GRANT ALL PRIVILEGES ON \`${main.db}\`.* TO \`${main.dbUser}\`@\`${host}\``,
      );
    }
    const asGlance = await mysql.createConnection({
      host: env.DB_HOST,
      port: Number(env.DB_PORT),
      user: main.dbUser,
      password: dbPassword,
      database: main.db,
    });
    await asGlance.query('CREATE TABLE probe (id INT)');
    await asGlance.query('DROP TABLE probe');
    await asGlance.end();

    // Keystone: user (its password works), admin on project service, service of type image, 3 endpoints.
    const ksPassword = await secretValue('images-keystone-password', 'password');
    const user = await keystoneUser(main.user);
    expect(user).toBeDefined();
    const { body: projects } = await keystone<{ projects: Array<{ id: string }> }>(
      'GET',
      '/projects?name=service&domain_id=default',
    );
    const { body: assignments } = await keystone<{ role_assignments: Array<{ role: { name: string } }> }>(
      'GET',
      `/role_assignments?user.id=${user?.id}&scope.project.id=${projects.projects[0]?.id}&include_names=true`,
    );
    expect(assignments.role_assignments.map((a) => a.role.name)).toContain('admin');
    const login = await fetch(`${env.OS_AUTH_URL}/auth/tokens`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        auth: {
          identity: {
            methods: ['password'],
            password: { user: { name: main.user, domain: { id: 'default' }, password: ksPassword } },
          },
          scope: { project: { name: 'service', domain: { id: 'default' } } },
        },
      }),
    });
    expect(login.status).toBe(201);
    const service = await keystoneService(main.service);
    expect(service).toMatchObject({ type: 'image', id: gs.status?.serviceId });
    const endpoints = await endpointsOf(service?.id ?? '');
    expect(endpoints.map((e) => [e.interface, e.url, e.region_id]).sort()).toEqual([
      ['admin', `http://images-api.${ns}.svc:9292`, main.region],
      ['internal', PUBLIC_URL, main.region],
      ['public', PUBLIC_URL, main.region],
    ]);

    // Ceph: the pool is an rbd pool, the user has the guide's caps, and the keyring Secret holds its key.
    expect(await poolApplications(main.pool)).toHaveProperty('rbd');
    const auth = await cephAuth(main.cephUser);
    expect(auth?.caps).toEqual({
      mon: 'allow r',
      osd: `allow class-read object_prefix rbd_children, allow rwx pool=${main.pool}`,
    });
    expect(await secretValue('images-ceph-client', 'userID')).toBe(main.cephUser);
    expect(await secretValue('images-ceph-client', 'userKey')).toBe(auth?.key);
    expect(await secretValue('images-ceph-client', `ceph.client.${main.cephUser}.keyring`)).toBe(
      `[client.${main.cephUser}]\n\tkey = ${auth?.key}\n`,
    );
    expect(await secretValue('images-ceph-client', 'ceph.conf')).toContain(`fsid = ${env.CEPH_FSID}`);

    // Kubernetes: the config (passwords only in this Secret), the Job, the paused Deployment, Service, claim.
    const conf = await secretValue('images-config', 'glance-api.conf');
    expect(conf).toContain(
      `connection = mysql+pymysql://${main.dbUser}:${dbPassword}@${env.DB_HOST}:${env.DB_PORT}/${main.db}`,
    );
    expect(conf).toContain(`password = ${ksPassword}`);
    expect(conf).toContain(`rbd_store_pool = ${main.pool}`);
    const jobs = await kube.list<V1Job>('batch/v1', 'Job', ns, 'app.kubernetes.io/instance=images');
    expect(jobs.map((j) => j.spec?.template.spec?.containers[0]?.args?.[0])).toEqual(['db-sync']);
    const deployment = await kube.read<V1Deployment>({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: ns,
      name: 'images-api',
    });
    expect(deployment?.spec?.paused).toBe(true);
    expect(deployment?.spec?.template.metadata?.annotations?.['glance.stackops.dev/config-hash']).toBe(
      gs.status?.configHash,
    );
    expect(deployment?.spec?.template.spec?.volumes?.map((v) => v.name)).toEqual([
      'config',
      'ceph',
      'images',
    ]);
    const svc = await kube.read<V1Service>({
      apiVersion: 'v1',
      kind: 'Service',
      namespace: ns,
      name: 'images-api',
    });
    expect(svc?.spec?.ports?.[0]?.port).toBe(9292);
    const claim = await kube.read<V1PersistentVolumeClaim>({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      namespace: ns,
      name: 'images-images',
    });
    expect(claim?.spec?.resources?.requests?.storage).toBe('10Gi');
    const pdb = await kube.read<V1PodDisruptionBudget>({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      namespace: ns,
      name: 'images-api',
    });
    expect(pdb).toBeUndefined();

    const reasons = await eventReasons('images');
    expect(reasons).toEqual(
      expect.arrayContaining([
        'DatabaseCreated',
        'DatabaseUserCreated',
        'DatabaseGranted',
        'KeystoneUserCreated',
        'KeystoneRoleGranted',
        'KeystoneServiceCreated',
        'KeystoneEndpointCreated',
        'CephPoolCreated',
        'CephPoolInitialized',
        'CephUserCreated',
        'SecretCreated',
        'MigrationJobCreated',
        'DeploymentCreated',
        'ServiceCreated',
      ]),
    );
    expect(count(reasons, 'KeystoneEndpointCreated')).toBe(3);
  });

  it('logs no secret', async () => {
    const adminKeyring = readFileSync(env.CEPH_ADMIN_KEYRING ?? '', 'utf8');
    const secrets = [
      env.DB_ADMIN_PASSWORD,
      env.OS_PASSWORD,
      /key = (\S+)/.exec(adminKeyring)?.[1],
      await secretValue('images-db-password', 'password'),
      await secretValue('images-keystone-password', 'password'),
      await secretValue('images-ceph-client', 'userKey'),
    ];
    const logs = operator.logs();
    expect(logs).toContain('Created database');
    for (const secret of secrets) {
      expect(secret).toBeTruthy();
      expect(logs.includes(secret ?? '')).toBe(false);
    }
  });

  it('writes nothing anywhere when a reconcile finds nothing to change', async () => {
    // Let any reconcile triggered by the first pass's own writes finish first.
    const settled = operator.reconciles();
    await waitFor('a reconcile after the first pass', async () => operator.reconciles() >= settled + 1);
    // Kubernetes writes, SQL statements that change something, Keystone POST/PATCH/DELETE, Ceph changes.
    const systems = ['kube', 'mysql', 'keystone', 'ceph'];
    const writes = () => Object.fromEntries(systems.map((s) => [s, operator.writes(s)]));
    const before = writes();
    // The first pass wrote to each system, so each count is known to move when something is written.
    for (const system of systems) expect(before[system]).toBeGreaterThan(0);
    const start = operator.reconciles();
    await waitFor('two more reconciles', async () => operator.reconciles() >= start + 2, 60_000);
    expect(writes()).toEqual(before);
    expect(operator.metrics.reconciles.get({ controller: 'glanceservice', result: 'error' })).toBe(0);
  });

  it('repairs drift in Keystone, Ceph, MariaDB and the Deployment, with an Event for each', async () => {
    const before = await eventReasons('images');
    const service = await keystoneService(main.service);
    const publicEndpoint = (await endpointsOf(service?.id ?? '')).find((e) => e.interface === 'public');
    expect((await keystone('DELETE', `/endpoints/${publicEndpoint?.id}`)).status).toBe(204);
    await run('ceph', ['auth', 'caps', `client.${main.cephUser}`, 'mon', 'allow r', 'osd', 'allow rwx']);
    await db.query(`REVOKE ALL PRIVILEGES ON ${db.escapeId(main.db)}.* FROM ?@?`, [main.dbUser, '%']);
    await kube.objects.patch(
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'images-api', namespace: ns },
        spec: { replicas: 4 },
      },
      undefined,
      undefined,
      'someone-by-hand',
      undefined,
      'application/merge-patch+json',
    );

    await waitFor('the public endpoint to come back', async () =>
      (await endpointsOf(service?.id ?? '')).some((e) => e.interface === 'public' && e.url === PUBLIC_URL),
    );
    await waitFor('the Ceph caps to be restored', async () =>
      (await cephAuth(main.cephUser))?.caps.osd?.includes(`pool=${main.pool}`),
    );
    await waitFor('the grant to be restored', async () =>
      (await grantsFor(main.dbUser, '%')).some((g) => g.startsWith('GRANT ALL PRIVILEGES')),
    );
    await waitFor('the replicas to be restored', async () => {
      const d = await kube.read<V1Deployment>({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        namespace: ns,
        name: 'images-api',
      });
      return d?.spec?.replicas === 1;
    });
    const after = await waitFor('the Events', async () => {
      const reasons = await eventReasons('images');
      return count(reasons, 'DeploymentRestored') > count(before, 'DeploymentRestored') &&
        count(reasons, 'DatabaseGranted') > count(before, 'DatabaseGranted')
        ? reasons
        : undefined;
    });
    expect(count(after, 'KeystoneEndpointCreated')).toBe(count(before, 'KeystoneEndpointCreated') + 1);
    expect(count(after, 'CephCapsRestored')).toBe(count(before, 'CephCapsRestored') + 1);
  });

  it('labels again, keeping its password, a generated password Secret without the access label (as earlier operators made them)', async () => {
    const ref = { apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 'images-db-password' };
    const password = await secretValue(ref.name, 'password');
    const labelled = async () =>
      (await kube.read<V1Secret>(ref))?.metadata.labels?.[OPERATOR_ACCESS_LABEL] === 'true';
    expect(await labelled()).toBe(true);
    // The label removed by hand (a JSON merge patch's null): the Secret as an earlier operator made it.
    const unlabel = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: ref.name, namespace: ns, labels: { [OPERATOR_ACCESS_LABEL]: null } },
    } as unknown as KubernetesObject;
    const patched = await kube.objects.patch(
      unlabel,
      undefined,
      undefined,
      'someone-by-hand',
      undefined,
      'application/merge-patch+json',
    );
    expect(patched.metadata?.labels?.[OPERATOR_ACCESS_LABEL]).toBeUndefined();
    await waitFor('the label to be back', labelled);
    expect(await secretValue(ref.name, 'password')).toBe(password);
    const gs = await getGlanceService(kube, ns, 'images');
    expect(condition(gs, 'Stalled')).toBeUndefined();
    expect(condition(gs, 'DatabaseReady')?.status).toBe('True');
  });

  it('applies a changed password and replica count: new config hash, PodDisruptionBudget only above one replica', async () => {
    const old = await getGlanceService(kube, ns, 'images');
    await createSecret(kube, ns, 'db-password-2', { password: 'Rotated-Pa$$word-2' });
    await applyGlanceService(
      kube,
      ns,
      'images',
      specFor(main, {
        replicas: 2,
        // An existing claim's access mode cannot change, so the second replica comes with rbd only.
        store: { backends: ['rbd'] },
        database: { ...specFor(main).database, passwordSecretRef: { name: 'db-password-2' } },
      }),
    );
    const gs = await waitFor('the new generation to be reconciled', async () => {
      const gs = await getGlanceService(kube, ns, 'images');
      return condition(gs, 'DeploymentReady')?.observedGeneration === gs?.metadata.generation &&
        gs?.status?.configHash !== old?.status?.configHash
        ? gs
        : undefined;
    });
    const asGlance = await mysql.createConnection({
      host: env.DB_HOST,
      port: Number(env.DB_PORT),
      user: main.dbUser,
      password: 'Rotated-Pa$$word-2',
    });
    await asGlance.end();
    expect(await secretValue('images-config', 'glance-api.conf')).toContain(
      `${main.dbUser}:Rotated-Pa%24%24word-2@`,
    );
    const pdbRef = {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      namespace: ns,
      name: 'images-api',
    };
    const deployment = await kube.read<V1Deployment>({
      ...pdbRef,
      apiVersion: 'apps/v1',
      kind: 'Deployment',
    });
    expect(deployment?.spec?.replicas).toBe(2);
    expect(deployment?.spec?.template.metadata?.annotations?.['glance.stackops.dev/config-hash']).toBe(
      gs.status?.configHash,
    );
    expect((await kube.read<V1PodDisruptionBudget>(pdbRef))?.spec?.maxUnavailable).toBe(1);

    await applyGlanceService(kube, ns, 'images', specFor(main));
    await waitFor('the PodDisruptionBudget to go', async () => !(await kube.read(pdbRef)));
  });

  it('reports a spec it cannot act on as Stalled/InvalidSpec, naming the field', async () => {
    await applyGlanceService(kube, ns, 'broken', {
      ...specFor(bad),
      ceph: undefined,
      store: { backends: ['rbd'] },
    });
    const gs = await waitFor('Stalled', async () => {
      const gs = await getGlanceService(kube, ns, 'broken');
      return condition(gs, 'Stalled') ? gs : undefined;
    });
    expect(condition(gs, 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'InvalidSpec',
      message: 'spec.ceph: is required when store.backends has rbd',
    });
    expect(condition(gs, 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(gs.metadata.finalizers ?? []).toEqual([]);
    await kube.custom.deleteNamespacedCustomObject({ ...GLANCE_SERVICE, namespace: ns, name: 'broken' });
  });

  // Each admin credential the operator needs, wrong in its own way; the message names the Secret to fix.
  const refused = [
    {
      object: 'badcreds-db',
      step: 'DatabaseReady',
      reason: 'DatabaseAuthFailed',
      secret: 'db-admin-wrong',
      data: () => ({ username: env.DB_ADMIN_USER ?? '', password: 'not-the-password' }),
      spec: (name: string) => ({ database: { ...specFor(bad).database, adminSecretRef: { name } } }),
    },
    {
      object: 'badcreds-ks',
      step: 'KeystoneReady',
      reason: 'KeystoneAuthFailed',
      secret: 'keystone-admin-wrong',
      data: () => ({ username: env.OS_USERNAME ?? '', password: 'not-the-password' }),
      spec: (name: string) => ({ keystone: { ...specFor(bad).keystone, adminSecretRef: { name } } }),
    },
    {
      object: 'badcreds-ceph',
      step: 'CephReady',
      reason: 'CephAuthFailed',
      secret: 'ceph-admin-wrong',
      // A well-formed key (type AES, created, length, secret) that is not client.admin's.
      data: () => {
        const head = Buffer.alloc(12);
        head.writeUInt16LE(1, 0);
        head.writeUInt32LE(Math.floor(Date.now() / 1000), 2);
        head.writeUInt16LE(16, 10);
        const key = Buffer.concat([head, randomBytes(16)]).toString('base64');
        return { keyring: `[client.admin]\n\tkey = ${key}\n` };
      },
      spec: (name: string) => ({ ceph: { ...specFor(bad).ceph, adminSecretRef: { name } } }),
    },
    {
      object: 'badcreds-keyring',
      step: 'CephReady',
      reason: 'InvalidCephKeyring',
      secret: 'ceph-admin-malformed',
      data: () => ({ keyring: `[client.admin]\n\tkey = ${Buffer.from('not a key').toString('base64')}\n` }),
      spec: (name: string) => ({ ceph: { ...specFor(bad).ceph, adminSecretRef: { name } } }),
    },
    {
      object: 'badcreds-unlabelled',
      step: 'DatabaseReady',
      reason: 'SecretNotAllowed',
      secret: 'db-admin-unlabelled',
      // The right credentials, in a Secret not labelled for the operator.
      data: () => ({ username: env.DB_ADMIN_USER ?? '', password: env.DB_ADMIN_PASSWORD ?? '' }),
      labelled: false,
      spec: (name: string) => ({ database: { ...specFor(bad).database, adminSecretRef: { name } } }),
    },
    {
      object: 'badcreds-none',
      step: 'DatabaseReady',
      reason: 'SecretNotFound',
      secret: 'db-admin-missing',
      data: undefined,
      spec: (name: string) => ({ database: { ...specFor(bad).database, adminSecretRef: { name } } }),
    },
  ];
  it.each(refused)(
    'stops at $reason with Stalled naming the Secret, having created nothing anywhere',
    async ({ object, step, reason, secret, data, spec, labelled }) => {
      if (data) await createSecret(kube, ns, secret, data(), { labelled: labelled ?? true });
      await applyGlanceService(kube, ns, object, specFor(bad, spec(secret)));
      const gs = await waitFor('Stalled', async () => {
        const gs = await getGlanceService(kube, ns, object);
        return condition(gs, 'Stalled') ? gs : undefined;
      });
      expect(condition(gs, 'Stalled')).toMatchObject({ status: 'True', reason });
      expect(condition(gs, 'Stalled')?.message).toContain(`Secret ${ns}/${secret}`);
      expect(condition(gs, step)).toMatchObject({ status: 'False', reason });
      expect(condition(gs, 'Ready')).toMatchObject({ status: 'False', reason });
      expect(gs.metadata.finalizers ?? []).toEqual([]);
      expect(await databaseExists(bad.db)).toBe(false);
      expect(await dbUserHosts(bad.dbUser)).toEqual([]);
      expect(await keystoneService(bad.service)).toBeUndefined();
      expect(await keystoneUser(bad.user)).toBeUndefined();
      expect(await cephAuth(bad.cephUser)).toBeUndefined();
      expect(await poolApplications(bad.pool)).toBeUndefined();
      const owned = await kube.list<V1Secret>('v1', 'Secret', ns, `app.kubernetes.io/instance=${object}`);
      expect(owned).toEqual([]);
      expect(await eventReasons(object)).toContain(reason);

      await kube.custom.deleteNamespacedCustomObject({ ...GLANCE_SERVICE, namespace: ns, name: object });
      await waitFor(
        'the object to go at once',
        async () => !(await getGlanceService(kube, ns, object)),
        10_000,
      );
    },
  );

  it('stops at EndpointNotAllowed for a keystone.authUrl outside the URL policy, before any credential is sent', async () => {
    // A Keystone on a loopback port the operator's policy does not allow (only the stack's Keystone is).
    const reached: string[] = [];
    const trap = createServer((req, res) => {
      reached.push(`${req.method} ${req.url}`);
      res.writeHead(500).end();
    });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
    const port = (trap.address() as AddressInfo).port;
    try {
      const authUrl = `http://127.0.0.1:${port}/v3`;
      await applyGlanceService(
        kube,
        ns,
        'refused-keystone',
        specFor(bad, { keystone: { ...specFor(bad).keystone, authUrl } }),
      );
      const gs = await waitFor('Stalled', async () => {
        const gs = await getGlanceService(kube, ns, 'refused-keystone');
        return condition(gs, 'Stalled') ? gs : undefined;
      });
      expect(condition(gs, 'Stalled')).toMatchObject({ status: 'True', reason: 'EndpointNotAllowed' });
      expect(condition(gs, 'KeystoneReady')).toMatchObject({ status: 'False', reason: 'EndpointNotAllowed' });
      expect(condition(gs, 'KeystoneReady')?.message).toContain(`127.0.0.1 port ${port}`);
      expect(reached).toEqual([]);
      expect(gs.metadata.finalizers ?? []).toEqual([]);
      expect(await databaseExists(bad.db)).toBe(false);
      expect(await dbUserHosts(bad.dbUser)).toEqual([]);
      expect(await keystoneUser(bad.user)).toBeUndefined();
      expect(await cephAuth(bad.cephUser)).toBeUndefined();
      expect(await eventReasons('refused-keystone')).toContain('EndpointNotAllowed');
      await kube.custom.deleteNamespacedCustomObject({
        ...GLANCE_SERVICE,
        namespace: ns,
        name: 'refused-keystone',
      });
      await waitFor(
        'the object to go at once',
        async () => !(await getGlanceService(kube, ns, 'refused-keystone')),
        10_000,
      );
    } finally {
      trap.closeAllConnections();
      await new Promise((r) => trap.close(r));
    }
  });

  it('with deletionPolicy Retain, removes the Keystone registration and keeps the database, Ceph user and pool', async () => {
    // A region that was there before the GlanceService: other services of the cloud may use it.
    await keystone('POST', '/regions', {
      region: { id: kept.region, description: 'the cloud operator made it' },
    });
    await applyGlanceService(
      kube,
      ns,
      'kept',
      specFor(kept, { deletionPolicy: 'Retain', store: { backends: ['file'] } }),
    );
    await waitFor('the config', async () => {
      const gs = await getGlanceService(kube, ns, 'kept');
      return condition(gs, 'ConfigReady')?.status === 'True';
    });
    expect(await keystoneService(kept.service)).toBeDefined();
    const cephUser = await cephAuth(kept.cephUser);
    expect(cephUser).toBeDefined();
    await kube.custom.deleteNamespacedCustomObject({ ...GLANCE_SERVICE, namespace: ns, name: 'kept' });
    await waitFor('the object to go', async () => !(await getGlanceService(kube, ns, 'kept')));
    expect(await keystoneService(kept.service)).toBeUndefined();
    expect(await keystoneUser(kept.user)).toBeUndefined();
    expect(await keystoneRegion(kept.region)).toMatchObject({ description: 'the cloud operator made it' });
    expect(await databaseExists(kept.db)).toBe(true);
    expect(await dbUserHosts(kept.dbUser)).toEqual(['%', 'localhost']);
    expect(await cephAuth(kept.cephUser)).toEqual(cephUser);
    expect(await poolApplications(kept.pool)).toHaveProperty('rbd');
    const claim = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: ns, name: 'kept-images' };
    expect(await kube.read(claim)).toBeDefined();
    expect(await eventReasons('kept')).toContain('Retained');
  });

  it('with deletionPolicy Delete, removes everything it created in every system', async () => {
    const service = await keystoneService(main.service);
    await kube.custom.deleteNamespacedCustomObject({ ...GLANCE_SERVICE, namespace: ns, name: 'images' });
    await waitFor('the object to go', async () => !(await getGlanceService(kube, ns, 'images')), 120_000);
    expect(await keystoneService(main.service)).toBeUndefined();
    expect(await endpointsOf(service?.id ?? '')).toEqual([]);
    expect(await keystoneUser(main.user)).toBeUndefined();
    // The operator created that region: it goes with the last endpoint in it.
    expect(await keystoneRegion(main.region)).toBeUndefined();
    expect(await eventReasons('images')).toContain('KeystoneRegionDeleted');
    expect(await databaseExists(main.db)).toBe(false);
    expect(await dbUserHosts(main.dbUser)).toEqual([]);
    expect(await cephAuth(main.cephUser)).toBeUndefined();
    expect(await poolApplications(main.pool)).toBeUndefined();
    const claim = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: ns, name: 'images-images' };
    await waitFor('the claim to go', async () => !(await kube.read(claim)));
    // Owned objects go with their owner (kube-controller-manager's garbage collector).
    await waitFor(
      'the owned Secrets to go',
      async () =>
        (await kube.list<V1Secret>('v1', 'Secret', ns, 'app.kubernetes.io/instance=images')).length === 0,
    );
  });
});
