import { formatDatabaseComment } from '../../../../operator/src/glance-service/database.js';
import {
  formatMark,
  parseMark,
  parseMarkWithAttributes,
} from '../../../../operator/src/glance-service/ownership.js';
import { cephxKey } from '../../../fakes/ceph.js';
import { nativePasswordHash } from '../../../fakes/mariadb.js';
import { GlanceWorld, NAME, NS, secret } from './world.js';

const OWNER = `${NS}/${NAME}`;
const CAPS = {
  mon: 'allow r',
  osd: 'allow class-read object_prefix rbd_children, allow rwx pool=images',
};
const POOL_KEY = 'glance-operator/pool/images';
const AUTH_KEY = 'glance-operator/auth/client.glance';

/** A spec adopting in MariaDB and/or Ceph, with the database password the pre-existing accounts have. */
function adopting(w: GlanceWorld, systems: { database?: boolean; ceph?: boolean }, extra = {}) {
  const spec = w.spec(extra) as { database: object; ceph: object };
  return {
    ...spec,
    database: {
      ...spec.database,
      adopt: systems.database ?? false,
      passwordSecretRef: { name: 'theirs' },
    },
    ceph: { ...spec.ceph, adopt: systems.ceph ?? false },
  };
}

/** What an installer made before the GlanceService: the database, both accounts, the pool and the user. */
function preExisting(w: GlanceWorld, what: { database?: boolean; accounts?: string[]; ceph?: boolean }) {
  w.kube.seed(secret('theirs', { password: 'installer-password' }));
  if (what.database) w.db.databases.add('glance');
  for (const host of what.accounts ?? []) {
    w.db.accounts.set(`glance@${host}`, {
      hash: nativePasswordHash('installer-password'),
      all: new Set(['glance']),
    });
  }
  if (what.ceph) {
    w.ceph.pools.set('images', { application_metadata: { rbd: {} } });
    w.ceph.auth.set('client.glance', { entity: 'client.glance', key: cephxKey(), caps: { ...CAPS } });
  }
}

const uid = (w: GlanceWorld) => w.gs()?.metadata.uid ?? '';

describe('ownership marks', () => {
  it('carry attributes after the mark, and a mark with or without them reads back', () => {
    const mark = { uid: '6f1c-2a', owner: 'openstack/images' };
    expect(formatMark(mark)).toBe('glance-operator 6f1c-2a openstack/images');
    const text = formatMark(mark, { users: 'glance@localhost,glance@%' });
    expect(text).toBe('glance-operator 6f1c-2a openstack/images users=glance@localhost,glance@%');
    expect(parseMarkWithAttributes(text)).toEqual({
      mark,
      attributes: { users: 'glance@localhost,glance@%' },
    });
    expect(parseMark(text)).toEqual(mark);
    expect(parseMark('made by the installer')).toBeUndefined();
    expect(parseMark('glance-operator 6f1c-2a openstack/images and more')).toBeUndefined();
  });
});

describe('GlanceService reconciler: what it did not create (MariaDB)', () => {
  it('refuses a database that exists and is not its own, writing nothing anywhere', async () => {
    const w = new GlanceWorld();
    preExisting(w, { database: true });
    w.create(adopting(w, {}));
    await w.reconcile();
    expect(w.condition('Stalled')).toMatchObject({ status: 'True', reason: 'NotOwned' });
    expect(w.condition('DatabaseReady')).toMatchObject({
      status: 'False',
      reason: 'NotOwned',
      message:
        'MariaDB database glance already exists and was not created by this operator: set ' +
        'spec.database.adopt to use it (an adopted object is never deleted)',
    });
    expect(w.externalWrites()).toEqual([]);
    expect(w.db.comments.get('glance')).toBeUndefined();
    expect(w.events.reasons()).toContain('NotOwned');
  });

  it('refuses an account that exists before creating the database', async () => {
    const w = new GlanceWorld();
    preExisting(w, { accounts: ['%'] });
    w.create(adopting(w, {}));
    await w.reconcile();
    expect(w.condition('DatabaseReady')).toMatchObject({ status: 'False', reason: 'NotOwned' });
    expect(w.condition('DatabaseReady')?.message).toMatch(/^MariaDB user 'glance'@'%' already exists/);
    expect(w.db.writes).toEqual([]);
    expect(w.db.databases.has('glance')).toBe(false);
    expect(w.db.accepts('glance', '%', 'installer-password')).toBe(true);
  });

  it('refuses a database marked by another GlanceService, naming it', async () => {
    const w = new GlanceWorld();
    w.db.databases.add('glance');
    w.db.comments.set('glance', formatDatabaseComment({ uid: 'abc-1', owner: 'other/images' }, []));
    w.create();
    await w.reconcile();
    expect(w.condition('DatabaseReady')?.message).toBe(
      'MariaDB database glance already exists and was created by GlanceService other/images (uid abc-1): ' +
        'set spec.database.adopt to use it (an adopted object is never deleted)',
    );
    expect(w.db.writes).toEqual([]);
  });

  it('with adopt, uses the database and accounts as they are, never marks them, and leaves them on delete', async () => {
    const w = new GlanceWorld();
    preExisting(w, { database: true, accounts: ['localhost', '%'] });
    w.create(adopting(w, { database: true }));
    await w.converge();
    expect(w.condition('Ready')?.status).toBe('True');
    expect(w.condition('DatabaseReady')).toMatchObject({
      status: 'True',
      reason: 'Adopted',
      message:
        'Database glance and user glance (localhost, %) with ALL PRIVILEGES; adopted, never deleted: ' +
        'database glance, user glance (localhost, %)',
    });
    // The condition's change is the Event that says so.
    expect(w.events.find('Adopted')?.note).toMatch(/^DatabaseReady=True: .*adopted, never deleted/);
    expect(w.db.writes).toEqual([]);
    expect(w.db.comments.get('glance')).toBeUndefined();

    await w.delete();
    await w.reconcile();
    expect(w.gs()).toBeUndefined();
    expect(w.db.databases.has('glance')).toBe(true);
    for (const host of ['localhost', '%'])
      expect(w.db.accepts('glance', host, 'installer-password')).toBe(true);
    expect(w.db.writes).toEqual([]);
    expect(w.events.find('DatabaseLeft')?.note).toBe(
      'Left database glance and its users: not created by this GlanceService (adopted)',
    );
    for (const e of w.events.events) expect(e.note).not.toContain('installer-password');
  });

  it('with adopt, creates a missing account in an adopted database but never drops it', async () => {
    const w = new GlanceWorld();
    preExisting(w, { database: true, accounts: ['%'] });
    w.create(adopting(w, { database: true }));
    await w.reconcile();
    expect(w.events.find('DatabaseUserCreated')?.note).toBe(
      "Created database user 'glance'@'localhost' in adopted database glance: it is never dropped",
    );
    expect(w.db.comments.get('glance')).toBeUndefined();
    await w.delete();
    await w.reconcile();
    expect(w.db.account('glance', 'localhost')).toBeDefined();
    expect(w.db.databases.has('glance')).toBe(true);
  });

  it('with adopt, creates and marks its own database beside an adopted account, and drops only its own', async () => {
    const w = new GlanceWorld();
    preExisting(w, { accounts: ['localhost'] });
    w.create(adopting(w, { database: true }));
    await w.reconcile();
    expect(w.db.comments.get('glance')).toBe(`glance-operator ${uid(w)} ${OWNER} users=glance@%`);
    expect(w.condition('DatabaseReady')).toMatchObject({
      reason: 'Adopted',
      message: expect.stringMatching(/adopted, never deleted: user 'glance'@'localhost'$/),
    });
    w.clearWrites();
    await w.delete();
    await w.reconcile();
    expect(w.db.writes).toEqual(['DROP USER IF EXISTS glance@%', 'DROP DATABASE IF EXISTS glance']);
    expect(w.db.accepts('glance', 'localhost', 'installer-password')).toBe(true);
    expect(w.events.find('DatabaseDeleted')?.note).toBe(
      "Dropped database glance and user(s) 'glance'@'%' (deletionPolicy Delete); left adopted user(s) " +
        "'glance'@'localhost'",
    );
  });

  it('lists an account in the comment before creating it, and creates one a killed pass listed', async () => {
    const w = new GlanceWorld();
    w.create();
    await w.reconcile();
    const comment = `glance-operator ${uid(w)} ${OWNER} users=glance@localhost,glance@%`;
    expect(w.db.comments.get('glance')).toBe(comment);
    expect(w.db.writes[0]).toBe('CREATE DATABASE glance');

    // What a pass killed between the comment and CREATE USER leaves.
    w.db.accounts.delete('glance@%');
    w.clearWrites();
    await w.reconcile();
    expect(w.db.writes).toEqual(['CREATE USER glance@%', 'GRANT ALL PRIVILEGES ON glance.* TO glance@%']);
    expect(w.condition('DatabaseReady')).toMatchObject({ status: 'True', reason: 'Provisioned' });
  });

  it('adds an account to the comment before creating it in its own database', async () => {
    const w = new GlanceWorld();
    const mark = { uid: '', owner: OWNER };
    w.create();
    mark.uid = uid(w);
    w.db.databases.add('glance');
    w.db.comments.set('glance', formatDatabaseComment(mark, ['glance@localhost']));
    await w.reconcile();
    expect(w.db.writes.slice(0, 2)).toEqual([
      'ALTER DATABASE glance COMMENT',
      'CREATE USER glance@localhost',
    ]);
    expect(w.db.writes).toContain('CREATE USER glance@%');
    expect(w.db.comments.get('glance')).toBe(formatDatabaseComment(mark, ['glance@localhost', 'glance@%']));
  });

  it('refuses accounts left behind by a database dropped by hand: nothing says they are its own', async () => {
    const w = new GlanceWorld();
    w.create();
    await w.converge();
    w.db.databases.clear();
    w.clearWrites();
    await w.reconcile();
    expect(w.condition('DatabaseReady')).toMatchObject({ status: 'False', reason: 'NotOwned' });
    expect(w.db.writes).toEqual([]);
  });

  it('on delete, finishes dropping a database whose users a killed pass dropped already', async () => {
    const w = new GlanceWorld();
    w.create();
    await w.reconcile();
    for (const host of ['localhost', '%']) w.db.accounts.delete(`glance@${host}`);
    await w.delete();
    await w.reconcile();
    expect(w.gs()).toBeUndefined();
    expect(w.db.databases.has('glance')).toBe(false);
  });
});

describe('GlanceService reconciler: what it did not create (Ceph)', () => {
  it('refuses a pool that exists and is not its own, writing nothing to Ceph', async () => {
    const w = new GlanceWorld();
    w.ceph.pools.set('images', { application_metadata: {} });
    w.create();
    await w.reconcile();
    expect(w.condition('CephReady')).toMatchObject({
      status: 'False',
      reason: 'NotOwned',
      message:
        'Ceph pool images already exists and was not created by this operator: set spec.ceph.adopt to use ' +
        'it (an adopted object is never deleted)',
    });
    expect(w.condition('Stalled')).toMatchObject({ reason: 'NotOwned' });
    expect(w.ceph.writes).toEqual([]);
  });

  it('refuses a user that exists before creating the pool', async () => {
    const w = new GlanceWorld();
    const theirs = { entity: 'client.glance', key: cephxKey(), caps: { mon: 'allow r', osd: 'allow r' } };
    w.ceph.auth.set('client.glance', structuredClone(theirs));
    w.create();
    await w.reconcile();
    expect(w.condition('CephReady')?.message).toMatch(/^Ceph user client.glance already exists/);
    expect(w.ceph.writes).toEqual([]);
    expect(w.ceph.pools.has('images')).toBe(false);
    expect(w.ceph.auth.get('client.glance')).toEqual(theirs);
  });

  it('refuses a pool another GlanceService marked', async () => {
    const w = new GlanceWorld();
    w.ceph.pools.set('images', { application_metadata: { rbd: {} } });
    w.ceph.configKeys.set(POOL_KEY, 'glance-operator 77-x other/images');
    w.create();
    await w.reconcile();
    expect(w.condition('CephReady')?.message).toMatch(
      /^Ceph pool images already exists and was created by GlanceService other\/images \(uid 77-x\)/,
    );
    expect(w.ceph.writes).toEqual([]);
  });

  it('marks the pool and the user before creating them, and a mark a killed pass left is used', async () => {
    const w = new GlanceWorld();
    w.create();
    await w.reconcile();
    const mark = `glance-operator ${uid(w)} ${OWNER}`;
    expect(w.ceph.writes).toEqual([
      `config-key set ${POOL_KEY}`,
      'osd pool create images',
      'rbd pool init images',
      `config-key set ${AUTH_KEY}`,
      'auth get-or-create client.glance',
    ]);
    expect(Object.fromEntries(w.ceph.configKeys)).toEqual({ [POOL_KEY]: mark, [AUTH_KEY]: mark });

    // What a pass killed between the marks and the creates leaves.
    w.ceph.pools.delete('images');
    w.ceph.auth.delete('client.glance');
    w.clearWrites();
    await w.reconcile();
    expect(w.ceph.writes).toEqual([
      'osd pool create images',
      'rbd pool init images',
      'auth get-or-create client.glance',
    ]);
    expect(w.condition('CephReady')).toMatchObject({ status: 'True', reason: 'Provisioned' });
  });

  it('with adopt, uses the pool and user as they are and leaves them on delete', async () => {
    const w = new GlanceWorld();
    preExisting(w, { ceph: true });
    const user = structuredClone(w.ceph.auth.get('client.glance'));
    w.create(adopting(w, { ceph: true }));
    await w.converge();
    expect(w.condition('Ready')?.status).toBe('True');
    expect(w.condition('CephReady')).toMatchObject({
      reason: 'Adopted',
      message: expect.stringMatching(/adopted, never deleted: pool images, user client.glance$/),
    });
    expect(w.secretValue(`${NAME}-ceph-client`, 'userKey')).toBe(user?.key);
    expect(w.ceph.writes).toEqual([]);
    expect(w.ceph.configKeys.size).toBe(0);

    await w.delete();
    await w.reconcile();
    expect(w.gs()).toBeUndefined();
    expect(w.ceph.auth.get('client.glance')).toEqual(user);
    expect(w.ceph.pools.has('images')).toBe(true);
    expect(w.ceph.writes).toEqual([]);
    expect(w.events.find('CephLeft')?.note).toBe(
      'Left Ceph user client.glance and pool images: not created by this GlanceService',
    );
    expect(w.events.reasons()).not.toContain('CephDeleted');
  });

  it('deletes only what carries its mark: its own pool, not an adopted user', async () => {
    const w = new GlanceWorld();
    preExisting(w, {});
    w.ceph.auth.set('client.glance', { entity: 'client.glance', key: cephxKey(), caps: { ...CAPS } });
    w.create(adopting(w, { ceph: true }));
    await w.reconcile();
    expect([...w.ceph.configKeys.keys()]).toEqual([POOL_KEY]);
    w.clearWrites();
    await w.delete();
    await w.reconcile();
    expect(w.ceph.writes).toEqual(['osd pool rm images', `config-key rm ${POOL_KEY}`]);
    expect(w.ceph.auth.has('client.glance')).toBe(true);
    expect(w.events.find('CephDeleted')?.note).toBe('Deleted Ceph pool images (deletionPolicy Delete)');
    expect(w.events.find('CephLeft')?.note).toBe(
      'Left Ceph user client.glance: not created by this GlanceService',
    );
  });
});

describe('GlanceService reconciler: taking back what an earlier GlanceService of its name left', () => {
  it('refuses without adopt, takes it back with adopt, then deletes it as its own', async () => {
    const w = new GlanceWorld();
    w.create(w.spec({ deletionPolicy: 'Retain' }));
    await w.converge();
    const earlier = uid(w);
    await w.delete();
    await w.reconcile();
    expect(w.gs()).toBeUndefined();

    w.create();
    w.clearWrites();
    await w.reconcile();
    expect(w.condition('DatabaseReady')?.message).toBe(
      `MariaDB database glance already exists and was created by GlanceService ${OWNER} (uid ${earlier}), ` +
        'an earlier one of this name: set spec.database.adopt to use it (an adopted object is never deleted)',
    );
    expect(w.externalWrites()).toEqual([]);

    const spec = w.spec() as { database: object; ceph: object };
    w.update({ ...spec, database: { ...spec.database, adopt: true }, ceph: { ...spec.ceph, adopt: true } });
    await w.reconcile();
    const now = uid(w);
    expect(now).not.toBe(earlier);
    expect(w.db.comments.get('glance')).toBe(
      `glance-operator ${now} ${OWNER} users=glance@localhost,glance@%`,
    );
    expect(w.ceph.configKeys.get(POOL_KEY)).toBe(`glance-operator ${now} ${OWNER}`);
    expect(w.ceph.configKeys.get(AUTH_KEY)).toBe(`glance-operator ${now} ${OWNER}`);
    expect(w.events.find('DatabaseTakenBack')?.note).toBe(
      `Took back database glance, left by an earlier GlanceService ${OWNER} (uid ${earlier}): marked as this one's`,
    );
    expect(w.events.reasons()).toEqual(expect.arrayContaining(['CephPoolTakenBack', 'CephUserTakenBack']));
    // Taken back is its own: the conditions say Provisioned, not Adopted.
    expect(w.condition('DatabaseReady')?.reason).toBe('Provisioned');
    expect(w.condition('CephReady')?.reason).toBe('Provisioned');

    await w.delete();
    await w.reconcile();
    expect(w.gs()).toBeUndefined();
    expect(w.db.databases.has('glance')).toBe(false);
    expect(w.db.account('glance', '%')).toBeUndefined();
    expect(w.db.account('glance', 'localhost')).toBeUndefined();
    expect(w.ceph.pools.has('images')).toBe(false);
    expect(w.ceph.auth.has('client.glance')).toBe(false);
    expect(w.ceph.configKeys.size).toBe(0);
  });
});
