import { jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { GLANCE_SERVICE } from '../../../../operator/src/api/glance-service-types.js';
import { glanceCaps, markKeys } from '../../../../operator/src/glance-service/ceph.js';
import type { KubeApiClient } from '../../../../operator/src/runtime/kube-client.js';
import { run } from '../../../harness/run.js';
import { loadStackEnv } from '../../../harness/stack-env.js';
import { fromPods } from '../e2e-target.js';
import {
  cephAuth,
  cephConfigKey,
  cleanUpServices,
  keystoneUser,
  namesFor,
  poolApplications,
  type Names,
} from '../services.js';
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
  startOperator,
  suffix,
  testKube,
  waitFor,
  type RunningOperator,
} from '../support.js';

// A database, its two accounts, a Ceph pool and a Ceph user made by hand before any GlanceService, under the names
// GlanceServices then ask for: refused without adopt, used with it, and never changed or deleted either way.
jest.setTimeout(600_000);

const env = loadStackEnv();
const sfx = suffix();
const ns = `glance-own-${sfx}`;
/** Made by hand before the GlanceServices. */
const pre = namesFor('own', 'p', sfx);
/** The database and Keystone names of the GlanceService refused at Ceph. */
const mix = namesFor('own', 'm', sfx);
/** Everything made by one GlanceService. */
const own = namesFor('own', 'o', sfx);
const PRE_PASSWORD = `Pre-${randomBytes(12).toString('hex')}`;
const HOSTS = ['localhost', '%'];

/** Addresses as the pods see them, so that the adopting GlanceService's pods can run and become Ready. */
function specFor(n: Names, image = 'glance-operator/glance-api:test') {
  return {
    image,
    deletionPolicy: 'Delete',
    database: {
      host: fromPods(env.DB_HOST ?? ''),
      port: Number(env.DB_PORT),
      name: n.db,
      user: n.dbUser,
      adminSecretRef: { name: 'db-admin' },
    },
    keystone: {
      authUrl: fromPods(env.OS_AUTH_URL ?? ''),
      region: n.region,
      adminSecretRef: { name: 'keystone-admin' },
      userName: n.user,
      serviceName: n.service,
    },
    ceph: {
      monHost: fromPods(cephMonHost()),
      adminSecretRef: { name: 'ceph-admin' },
      pool: n.pool,
      pgNum: 8,
      user: n.cephUser,
    },
    store: { backends: ['file', 'rbd'], default: 'file' },
  };
}

let kube: KubeApiClient;
let db: mysql.Connection;
let operator: RunningOperator;

async function schemaComment(name: string): Promise<string | undefined> {
  const [rows] = await db.query<mysql.RowDataPacket[]>(
    'SELECT SCHEMA_COMMENT AS c FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
    [name],
  );
  return rows[0] ? String(rows[0].c) : undefined;
}

async function dbUserHosts(user: string): Promise<string[]> {
  const [rows] = await db.query<mysql.RowDataPacket[]>('SELECT Host FROM mysql.user WHERE User = ?', [user]);
  return rows.map((r) => String(r.Host)).sort();
}

async function grantsFor(user: string, host: string): Promise<string[]> {
  const [rows] = await db.query<mysql.RowDataPacket[]>('SHOW GRANTS FOR ?@?', [user, host]);
  return rows.map((r) => String(Object.values(r)[0]));
}

/** Whether `user` logs in with `password` and reaches its database. */
async function logsIn(n: Names, password: string): Promise<boolean> {
  try {
    const c = await mysql.createConnection({
      host: env.DB_HOST,
      port: Number(env.DB_PORT),
      user: n.dbUser,
      password,
      database: n.db,
    });
    await c.end();
    return true;
  } catch {
    return false;
  }
}

/** Everything about the objects made by hand that a GlanceService could have changed. */
async function handMade() {
  const keys = markKeys({ pool: pre.pool, user: pre.cephUser });
  return {
    comment: await schemaComment(pre.db),
    hosts: await dbUserHosts(pre.dbUser),
    grants: await Promise.all(HOSTS.map((h) => grantsFor(pre.dbUser, h))),
    logsIn: await logsIn(pre, PRE_PASSWORD),
    cephUser: await cephAuth(pre.cephUser),
    pool: await poolApplications(pre.pool),
    marks: [await cephConfigKey(keys.pool), await cephConfigKey(keys.auth)],
  };
}

async function eventReasons(name: string): Promise<string[]> {
  return (await eventsFor(kube, ns, name)).map((e) => e.reason ?? '');
}

async function deleteAndWait(name: string): Promise<void> {
  await kube.custom.deleteNamespacedCustomObject({ ...GLANCE_SERVICE, namespace: ns, name });
  await waitFor(`${name} to go`, async () => !(await getGlanceService(kube, ns, name)), 180_000);
}

async function stalled(name: string) {
  return waitFor(`${name} to be Stalled`, async () => {
    const gs = await getGlanceService(kube, ns, name);
    return condition(gs, 'Stalled') ? gs : undefined;
  });
}

let before: Awaited<ReturnType<typeof handMade>>;

beforeAll(async () => {
  kube = testKube();
  db = await adminDb();
  await db.query(`CREATE DATABASE ${db.escapeId(pre.db)}`);
  for (const host of HOSTS) {
    await db.query('CREATE USER ?@? IDENTIFIED BY ?', [pre.dbUser, host, PRE_PASSWORD]);
    await db.query(`GRANT ALL PRIVILEGES ON ${db.escapeId(pre.db)}.* TO ?@?`, [pre.dbUser, host]);
  }
  const caps = glanceCaps(pre.pool);
  await run('ceph', ['osd', 'pool', 'create', pre.pool, '8']);
  await run('ceph', ['osd', 'pool', 'application', 'enable', pre.pool, 'rbd']);
  await run('ceph', ['auth', 'get-or-create', `client.${pre.cephUser}`, 'mon', caps.mon, 'osd', caps.osd]);
  before = await handMade();
  expect(before.logsIn).toBe(true);
  expect(before.cephUser?.key).toBeTruthy();
  expect(before.pool).toHaveProperty('rbd');

  await installCrd(kube);
  await createNamespace(kube, ns);
  await createAdminSecrets(kube, ns);
  await createSecret(kube, ns, 'pre-password', { password: PRE_PASSWORD });
  operator = await startOperator(ns);
});

afterAll(async () => {
  await operator?.stop();
  if (kube) await deleteNamespace(kube, ns);
  if (db) {
    for (const n of [pre, mix, own]) await cleanUpServices(db, n);
    await db.end();
  }
});

describe('GlanceService and what it did not create', () => {
  it('refuses a database and accounts it did not create (Stalled, NotOwned), and leaves them as they were, deleted too', async () => {
    await applyGlanceService(kube, ns, 'refused-db', specFor(pre));
    const gs = await stalled('refused-db');
    expect(condition(gs, 'Stalled')).toMatchObject({ status: 'True', reason: 'NotOwned' });
    expect(condition(gs, 'DatabaseReady')).toMatchObject({
      status: 'False',
      reason: 'NotOwned',
      message:
        `MariaDB database ${pre.db} already exists and was not created by this operator: set ` +
        'spec.database.adopt to use it (an adopted object is never deleted)',
    });
    expect(await eventReasons('refused-db')).toContain('NotOwned');
    expect(await keystoneUser(pre.user)).toBeUndefined();
    expect(await handMade()).toEqual(before);

    await deleteAndWait('refused-db');
    expect(await handMade()).toEqual(before);
  });

  it('refuses a Ceph pool and user it did not create, and leaves them as they were, deleted too', async () => {
    await applyGlanceService(kube, ns, 'refused-ceph', { ...specFor(mix), ceph: specFor(pre).ceph });
    const gs = await stalled('refused-ceph');
    expect(condition(gs, 'CephReady')).toMatchObject({
      status: 'False',
      reason: 'NotOwned',
      message:
        `Ceph pool ${pre.pool} already exists and was not created by this operator: set spec.ceph.adopt ` +
        'to use it (an adopted object is never deleted)',
    });
    expect(condition(gs, 'DatabaseReady')?.status).toBe('True');
    expect(await handMade()).toEqual(before);

    // Its own database goes with it (deletionPolicy Delete); the pool and user stay.
    await deleteAndWait('refused-ceph');
    expect(await schemaComment(mix.db)).toBeUndefined();
    expect(await dbUserHosts(mix.dbUser)).toEqual([]);
    expect(await handMade()).toEqual(before);
  });

  it('with adopt, uses them and becomes Ready; deleted with deletionPolicy Delete, leaves them as they were', async () => {
    const spec = specFor(pre, env.GLANCE_IMAGE);
    await applyGlanceService(kube, ns, 'adopter', {
      ...spec,
      database: { ...spec.database, adopt: true, passwordSecretRef: { name: 'pre-password' } },
      ceph: { ...spec.ceph, adopt: true },
    });
    const gs = await waitFor(
      'the adopting GlanceService to be Ready',
      async () => {
        const gs = await getGlanceService(kube, ns, 'adopter');
        return condition(gs, 'Ready')?.status === 'True' ? gs : undefined;
      },
      300_000,
      1000,
    );
    expect(condition(gs, 'DatabaseReady')).toMatchObject({ status: 'True', reason: 'Adopted' });
    expect(condition(gs, 'DatabaseReady')?.message).toContain(`adopted, never deleted: database ${pre.db}`);
    expect(condition(gs, 'CephReady')).toMatchObject({ status: 'True', reason: 'Adopted' });
    expect(condition(gs, 'CephReady')?.message).toContain(
      `adopted, never deleted: pool ${pre.pool}, user client.${pre.cephUser}`,
    );
    expect(await eventReasons('adopter')).toContain('Adopted');
    // Used, never marked: the same comment, password, grants, key, caps and pool.
    expect(await handMade()).toEqual(before);

    await deleteAndWait('adopter');
    expect(await handMade()).toEqual(before);
    expect(await eventReasons('adopter')).toEqual(expect.arrayContaining(['DatabaseLeft', 'CephLeft']));
    expect(await eventReasons('adopter')).not.toContain('DatabaseDeleted');
    expect(await eventReasons('adopter')).not.toContain('CephDeleted');
  });

  it('marks what it creates, and removes all of it with the marks on delete', async () => {
    await applyGlanceService(kube, ns, 'owner', specFor(own));
    const gs = await waitFor('the config', async () => {
      const gs = await getGlanceService(kube, ns, 'owner');
      return condition(gs, 'ConfigReady')?.status === 'True' ? gs : undefined;
    });
    const mark = `glance-operator ${gs.metadata.uid} ${ns}/owner`;
    expect(await schemaComment(own.db)).toBe(`${mark} users=${own.dbUser}@localhost,${own.dbUser}@%`);
    const keys = markKeys({ pool: own.pool, user: own.cephUser });
    expect(await cephConfigKey(keys.pool)).toBe(mark);
    expect(await cephConfigKey(keys.auth)).toBe(mark);
    expect(condition(gs, 'DatabaseReady')?.reason).toBe('Provisioned');
    expect(condition(gs, 'CephReady')?.reason).toBe('Provisioned');

    await deleteAndWait('owner');
    expect(await schemaComment(own.db)).toBeUndefined();
    expect(await dbUserHosts(own.dbUser)).toEqual([]);
    expect(await cephAuth(own.cephUser)).toBeUndefined();
    expect(await poolApplications(own.pool)).toBeUndefined();
    expect(await cephConfigKey(keys.pool)).toBeUndefined();
    expect(await cephConfigKey(keys.auth)).toBeUndefined();
    expect(await eventReasons('owner')).toEqual(expect.arrayContaining(['DatabaseDeleted', 'CephDeleted']));
  });
});
