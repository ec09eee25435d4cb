import type { V1Job, V1PersistentVolumeClaim, V1Service } from '@kubernetes/client-node';
import { GlanceWorld, NAME, NS, RESYNC_MS, ref } from './world.js';

const CAPS = {
  mon: 'allow r',
  osd: 'allow class-read object_prefix rbd_children, allow rwx pool=images',
};

describe('GlanceService reconciler: provisioning', () => {
  let w: GlanceWorld;
  beforeEach(() => {
    w = new GlanceWorld();
    w.create();
  });

  it('provisions MariaDB, Keystone and Ceph, then waits for the migration with the Deployment paused', async () => {
    expect(await w.reconcile()).toEqual({ requeueAfterMs: RESYNC_MS });

    const gs = w.gs();
    expect(gs?.metadata.finalizers).toEqual(['glance.stackops.dev/cleanup']);
    expect(gs?.status?.observedGeneration).toBe(gs?.metadata.generation);
    expect(w.conditions()).toEqual([
      ['Ready', 'False', 'MigrationPending'],
      ['Reconciling', 'True', 'MigrationPending'],
      ['DatabaseReady', 'True', 'Provisioned'],
      ['KeystoneReady', 'True', 'Registered'],
      ['CephReady', 'True', 'Provisioned'],
      ['ConfigReady', 'True', 'Rendered'],
      ['DeploymentReady', 'False', 'MigrationPending'],
    ]);

    // MariaDB: the database and both accounts, with the generated password and ALL PRIVILEGES.
    const dbPassword = w.secretValue(`${NAME}-db-password`, 'password') ?? '';
    expect(dbPassword).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(w.db.databases).toContain('glance');
    for (const host of ['localhost', '%']) {
      expect(w.db.accepts('glance', host, dbPassword)).toBe(true);
      expect(w.db.account('glance', host)?.all).toEqual(new Set(['glance']));
    }

    // Keystone: the user logs in with the generated password, holds admin on project service; the service
    // has one endpoint per interface in RegionOne, at the API Service's cluster URL.
    const ksPassword = w.secretValue(`${NAME}-keystone-password`, 'password') ?? '';
    const project = { name: 'service', domainName: 'Default' };
    expect(
      w.keystone.accepts({ username: 'glance', password: ksPassword, userDomainName: 'Default', project }),
    ).toBe(true);
    const service = w.keystone.service('glance');
    expect(service).toMatchObject({ type: 'image', enabled: true, description: 'OpenStack Image' });
    expect(gs?.status?.serviceId).toBe(service?.id);
    const url = `http://${NAME}-api.${NS}.svc:9292`;
    expect(gs?.status?.endpoints).toEqual({ public: url, internal: url, admin: url });
    expect(w.keystone.endpoints.map((e) => [e.interface, e.url, e.region_id, e.service_id]).sort()).toEqual([
      ['admin', url, 'RegionOne', service?.id],
      ['internal', url, 'RegionOne', service?.id],
      ['public', url, 'RegionOne', service?.id],
    ]);
    expect(w.keystone.regions.map((r) => r.id)).toEqual(['RegionOne']);

    // Ceph: an rbd pool and client.glance with the guide's caps, its key in the client Secret.
    expect(w.ceph.pools.get('images')?.application_metadata).toHaveProperty('rbd');
    const auth = w.ceph.auth.get('client.glance');
    expect(auth?.caps).toEqual(CAPS);
    expect(w.secretValue(`${NAME}-ceph-client`, 'userKey')).toBe(auth?.key);
    expect(w.secretValue(`${NAME}-ceph-client`, 'ceph.conf')).toContain(`fsid = ${w.ceph.fsid}`);

    // Kubernetes: the config with both passwords, the Job, a paused Deployment, its Service and the claim.
    const conf = w.secretValue(`${NAME}-config`, 'glance-api.conf') ?? '';
    expect(conf).toContain(`mysql+pymysql://glance:${dbPassword}@mariadb.test:3306/glance`);
    expect(conf).toContain(`password = ${ksPassword}`);
    expect(w.jobs().map((j) => j.spec?.template.spec?.containers[0]?.args?.[0])).toEqual(['db-sync']);
    const deployment = w.deployment();
    expect(deployment?.spec?.paused).toBe(true);
    expect(deployment?.spec?.template.metadata?.annotations?.['glance.stackops.dev/config-hash']).toBe(
      gs?.status?.configHash,
    );
    expect(w.kube.get<V1Service>(ref('Service', `${NAME}-api`))?.spec?.ports?.[0]?.port).toBe(9292);
    const claim = w.kube.get<V1PersistentVolumeClaim>(ref('PersistentVolumeClaim', `${NAME}-images`));
    expect(claim?.spec?.resources?.requests?.storage).toBe('10Gi');
    expect(w.kube.get(ref('PodDisruptionBudget', `${NAME}-api`, 'policy/v1'))).toBeUndefined();

    expect(w.events.reasons()).toEqual(
      expect.arrayContaining([
        'PasswordGenerated',
        'DatabaseCreated',
        'DatabaseUserCreated',
        'DatabaseGranted',
        'KeystoneProjectCreated',
        'KeystoneUserCreated',
        'KeystoneRoleGranted',
        'KeystoneServiceCreated',
        'KeystoneRegionCreated',
        'KeystoneEndpointCreated',
        'CephPoolCreated',
        'CephPoolInitialized',
        'CephUserCreated',
        'SecretCreated',
        'MigrationJobCreated',
        'DeploymentCreated',
        'ServiceCreated',
        'PersistentVolumeClaimCreated',
      ]),
    );
    expect(w.events.reasons().filter((r) => r === 'KeystoneEndpointCreated')).toHaveLength(3);
    // Waiting for the migration is progress, not trouble.
    expect(w.events.find('MigrationPending')?.type).toBe('Normal');
    // Every admin session was closed.
    expect([w.db.open, w.ceph.open]).toEqual([0, 0]);
  });

  it('unpauses the Deployment once the migration succeeded, reports RollingOut, then Ready', async () => {
    await w.reconcile();
    w.finishMigration();
    await w.reconcile();
    expect(w.deployment()?.spec?.paused).toBeUndefined();
    expect(w.condition('DeploymentReady')).toMatchObject({
      status: 'False',
      reason: 'RollingOut',
      message: 'the Deployment controller has not seen the update yet',
    });
    expect(w.condition('Ready')).toMatchObject({ status: 'False', reason: 'RollingOut' });

    w.rollOut(0);
    await w.reconcile();
    expect(w.condition('DeploymentReady')).toMatchObject({
      reason: 'RollingOut',
      message: '0/1 replicas updated and available',
    });

    w.rollOut(1);
    expect(await w.reconcile()).toEqual({ requeueAfterMs: RESYNC_MS });
    expect(w.conditions()).toEqual([
      ['Ready', 'True', 'Ready'],
      ['DatabaseReady', 'True', 'Provisioned'],
      ['KeystoneReady', 'True', 'Registered'],
      ['CephReady', 'True', 'Provisioned'],
      ['ConfigReady', 'True', 'Rendered'],
      ['DeploymentReady', 'True', 'Available'],
    ]);
    expect(w.gs()?.status?.readyReplicas).toBe(1);
    expect(w.events.find('Available')).toMatchObject({
      type: 'Normal',
      note: 'DeploymentReady=True: 1/1 replicas available',
    });
  });

  it('writes nothing anywhere when a reconcile finds nothing to change', async () => {
    await w.converge();
    w.clearWrites();
    expect(await w.reconcile()).toEqual({ requeueAfterMs: RESYNC_MS });
    expect(w.kube.writes).toEqual([]);
    expect(w.externalWrites()).toEqual([]);
    expect(w.events.reasons()).toEqual([]);
  });

  it('writes nothing either while the migration is pending', async () => {
    await w.reconcile();
    w.clearWrites();
    await w.reconcile();
    expect(w.kube.writes).toEqual([]);
    expect(w.externalWrites()).toEqual([]);
  });

  it('runs a new migration Job for a new image and deletes the old one', async () => {
    await w.converge();
    const [old] = w.jobs();
    w.update(w.spec({ image: 'glance-api:2' }));
    w.clearWrites();
    await w.reconcile();
    const jobs = w.jobs() as V1Job[];
    expect(jobs.map((j) => j.metadata?.name)).not.toContain(old?.metadata?.name);
    expect(jobs).toHaveLength(1);
    expect(w.events.reasons()).toEqual(
      expect.arrayContaining(['MigrationJobCreated', 'MigrationJobDeleted']),
    );
    // The new image waits for its migration: the Deployment is paused again.
    expect(w.deployment()?.spec?.paused).toBe(true);
    expect(w.condition('DeploymentReady')?.reason).toBe('MigrationPending');
  });

  it('keeps a PodDisruptionBudget only while there is more than one replica', async () => {
    const pdb = ref('PodDisruptionBudget', `${NAME}-api`, 'policy/v1');
    w.update(w.spec({ replicas: 2, store: { backends: ['rbd'] } }));
    await w.reconcile();
    expect(w.kube.get(pdb)).toMatchObject({ spec: { maxUnavailable: 1 } });
    expect(w.deployment()?.spec?.replicas).toBe(2);

    w.update(w.spec({ replicas: 1, store: { backends: ['rbd'] } }));
    w.clearWrites();
    await w.reconcile();
    expect(w.kube.get(pdb)).toBeUndefined();
    expect(w.events.find('PodDisruptionBudgetDeleted')?.note).toBe(
      `Deleted PodDisruptionBudget ${NAME}-api: one replica left`,
    );
  });

  it('without spec.ceph, touches no Ceph and reports CephReady NotConfigured', async () => {
    w.update(w.spec({ ceph: undefined, store: { backends: ['file'] } }));
    await w.reconcile();
    expect(w.condition('CephReady')).toMatchObject({ status: 'True', reason: 'NotConfigured' });
    expect(w.ceph.writes).toEqual([]);
    expect(w.secretValue(`${NAME}-ceph-client`, 'userKey')).toBeUndefined();
    expect(w.deployment()?.spec?.template.spec?.volumes?.map((v) => v.name)).toEqual(['config', 'images']);
  });

  async function installedByHand(w2: GlanceWorld) {
    const session = await w2.keystone.connect(w2.keystone.authUrl, {
      username: 'admin',
      password: 'admin-password',
      userDomainName: 'Default',
      project: { name: 'admin', domainName: 'Default' },
    });
    await session.createProject('service', 'default', 'made by the installer');
    // What an installer made carries no mark (an empty one is no mark).
    const user = await session.createUser('glance', 'default', 'installer-password', '');
    await session.createRegion('RegionOne', 'made by the installer');
    const service = {
      name: 'glance',
      type: 'image',
      description: 'OpenStack Image',
      glance_operator_owner: '',
    };
    const first = await session.createService(service);
    const recorded = await session.createService(service);
    return { user, first, recorded };
  }

  it('refuses a Keystone user and service of its names that it did not create, and changes nothing', async () => {
    const w2 = new GlanceWorld();
    const { user } = await installedByHand(w2);
    w2.create();
    w2.keystone.writes.length = 0;
    await w2.reconcile();
    expect(w2.condition('KeystoneReady')).toMatchObject({ status: 'False', reason: 'NotOwned' });
    expect(w2.condition('KeystoneReady')?.message).toBe(
      'Keystone user glance already exists and was not created by this operator: set spec.keystone.adopt to use ' +
        'it (an adopted object is never deleted)',
    );
    expect(w2.keystone.user('glance')).toMatchObject({ id: user.id, password: 'installer-password' });
    expect(w2.keystone.writes).toEqual([]);
  });

  it('with keystone.adopt, uses what exists: project, user (its password reset), region, the recorded service', async () => {
    const w2 = new GlanceWorld();
    const { user, first, recorded } = await installedByHand(w2);
    w2.create(w2.spec({ keystone: { ...(w2.spec().keystone as object), adopt: true } }));
    w2.kube.edit(
      { apiVersion: 'glance.stackops.dev/v1alpha1', kind: 'GlanceService', namespace: NS, name: NAME },
      (gs) => Object.assign(gs, { status: { serviceId: recorded.id } }),
    );
    w2.keystone.writes.length = 0;
    await w2.reconcile();
    expect(w2.keystone.user('glance')).toMatchObject({
      id: user.id,
      password: w2.secretValue(`${NAME}-keystone-password`, 'password'),
    });
    expect(w2.gs()?.status?.serviceId).toBe(recorded.id);
    expect(w2.keystone.endpoints.every((e) => e.service_id === recorded.id)).toBe(true);
    expect(w2.keystone.endpoints.filter((e) => e.service_id === first.id)).toEqual([]);
    expect(w2.keystone.regions).toEqual([{ id: 'RegionOne', description: 'made by the installer' }]);
    expect(w2.events.reasons()).not.toEqual(
      expect.arrayContaining(['KeystoneProjectCreated', 'KeystoneUserCreated', 'KeystoneServiceCreated']),
    );
    expect(w2.events.reasons()).toEqual(
      expect.arrayContaining(['KeystonePasswordChanged', 'KeystoneAdopted']),
    );

    // Deleted, it removes the endpoints it created and leaves the adopted user and service.
    await w2.delete();
    await w2.reconcile();
    expect(w2.keystone.user('glance')).toMatchObject({ id: user.id });
    expect(w2.keystone.services.map((s) => s.id).sort()).toEqual([first.id, recorded.id].sort());
    expect(w2.keystone.endpoints).toEqual([]);
  });

  it('takes back, with keystone.adopt, the user and service an earlier GlanceService of its name left', async () => {
    const w2 = new GlanceWorld();
    const session = await w2.keystone.connect(w2.keystone.authUrl, {
      username: 'admin',
      password: 'admin-password',
      userDomainName: 'Default',
      project: { name: 'admin', domainName: 'Default' },
    });
    const earlier = `glance-operator 0a0a0a0a-0000-4000-8000-000000000000 ${NS}/${NAME}`;
    await session.createProject('service', 'default', 'made by the installer');
    const user = await session.createUser('glance', 'default', 'old-password', earlier);
    w2.create(w2.spec({ keystone: { ...(w2.spec().keystone as object), adopt: true } }));
    await w2.converge();
    const uid = w2.gs()?.metadata.uid;
    expect(w2.keystone.user('glance')).toMatchObject({
      id: user.id,
      glance_operator_owner: `glance-operator ${uid} ${NS}/${NAME}`,
    });
    expect(w2.events.reasons()).toContain('KeystoneTakenBack');
    await w2.delete();
    await w2.reconcile();
    expect(w2.keystone.user('glance')).toBeUndefined();
  });
});
