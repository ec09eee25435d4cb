import { GlanceWorld, NAME, NS, STALLED_RETRY_MS, ref, secret } from './world.js';

const claimRef = ref('PersistentVolumeClaim', `${NAME}-images`);

async function provisioned(extra: Record<string, unknown> = {}): Promise<GlanceWorld> {
  const w = new GlanceWorld();
  w.create(w.spec(extra));
  await w.reconcile();
  w.clearWrites();
  return w;
}

describe('GlanceService reconciler: deletion', () => {
  it('with deletionPolicy Delete, removes what it created in every system, then the finalizer', async () => {
    const w = await provisioned();
    const serviceId = w.keystone.service('glance')?.id;
    await w.delete();
    expect(w.gs()?.metadata.deletionTimestamp).toBeDefined();

    expect(await w.reconcile()).toEqual({});
    expect(w.gs()).toBeUndefined();
    expect(w.keystone.service('glance')).toBeUndefined();
    expect(w.keystone.endpoints.filter((e) => e.service_id === serviceId)).toEqual([]);
    expect(w.keystone.user('glance')).toBeUndefined();
    // The operator created RegionOne: it goes with the last endpoint in it.
    expect(w.keystone.regions).toEqual([]);
    expect(w.db.databases.has('glance')).toBe(false);
    expect(w.db.account('glance', 'localhost')).toBeUndefined();
    expect(w.db.account('glance', '%')).toBeUndefined();
    expect(w.ceph.auth.has('client.glance')).toBe(false);
    expect(w.ceph.pools.has('images')).toBe(false);
    expect(w.kube.get(claimRef)).toBeUndefined();
    expect(w.events.reasons()).toEqual([
      'KeystoneDeregistered',
      'KeystoneRegionDeleted',
      'DatabaseDeleted',
      'CephDeleted',
      'ImagesClaimDeleted',
    ]);
    expect([w.db.open, w.ceph.open]).toEqual([0, 0]);
  });

  it('with deletionPolicy Retain, removes the Keystone registration and keeps the rest, and a region it did not make', async () => {
    const w = new GlanceWorld();
    w.keystone.regions.push({ id: 'RegionOne', description: 'the cloud operator made it' });
    w.create(w.spec({ deletionPolicy: 'Retain' }));
    await w.reconcile();
    const cephUser = structuredClone(w.ceph.auth.get('client.glance'));
    w.clearWrites();
    await w.delete();
    await w.reconcile();

    expect(w.gs()).toBeUndefined();
    expect(w.keystone.service('glance')).toBeUndefined();
    expect(w.keystone.user('glance')).toBeUndefined();
    expect(w.keystone.regions).toEqual([{ id: 'RegionOne', description: 'the cloud operator made it' }]);
    expect(w.db.databases.has('glance')).toBe(true);
    expect(w.db.account('glance', 'localhost')).toBeDefined();
    expect(w.db.account('glance', '%')).toBeDefined();
    expect(w.ceph.auth.get('client.glance')).toEqual(cephUser);
    expect(w.ceph.pools.get('images')?.application_metadata).toHaveProperty('rbd');
    expect(w.kube.get(claimRef)).toBeDefined();
    expect(w.db.writes).toEqual([]);
    expect(w.ceph.writes).toEqual([]);
    expect(w.events.reasons()).toEqual(['KeystoneDeregistered', 'Retained']);
  });

  it('keeps the service and user while another region still has endpoints of the service', async () => {
    const w = await provisioned();
    const service = w.keystone.service('glance');
    w.keystone.regions.push({ id: 'RegionTwo' });
    w.keystone.endpoints.push({
      id: 'two',
      interface: 'public',
      url: 'http://two:9292',
      region_id: 'RegionTwo',
      service_id: service?.id ?? '',
      enabled: true,
    });
    await w.delete();
    await w.reconcile();
    expect(w.keystone.service('glance')).toBeDefined();
    expect(w.keystone.user('glance')).toBeDefined();
    expect(w.keystone.endpoints.map((e) => e.id)).toEqual(['two']);
    expect(w.keystone.regions.map((r) => r.id)).toEqual(['RegionTwo']);
    expect(w.events.reasons().slice(0, 2)).toEqual(['KeystoneEndpointsDeleted', 'KeystoneRegionDeleted']);
  });

  it('finishes when what it would delete is already gone', async () => {
    const w = await provisioned();
    w.keystone.services.length = 0;
    w.keystone.endpoints.length = 0;
    w.ceph.auth.delete('client.glance');
    w.ceph.pools.delete('images');
    w.db.databases.clear();
    await w.kube.delete(claimRef);
    await w.delete();
    expect(await w.reconcile()).toEqual({});
    expect(w.gs()).toBeUndefined();
    expect(w.keystone.user('glance')).toBeUndefined();
    // `ceph auth del` of a missing user fails with ENOENT, which is taken as done; a missing pool is not removed.
    expect(w.ceph.writes).toEqual(['auth del client.glance']);
    expect(w.events.reasons()).not.toContain('ImagesClaimDeleted');
  });

  it('keeps the finalizer and retries when a system is down, then finishes', async () => {
    const w = await provisioned();
    await w.delete();
    w.ceph.down = true;
    await expect(w.reconcile()).rejects.toThrow('Ceph (mon_host [v2:10.0.0.2:3300]) is unreachable');
    expect(w.gs()?.metadata.finalizers).toEqual(['glance.stackops.dev/cleanup']);
    expect(w.keystone.service('glance')).toBeDefined();

    w.ceph.down = false;
    await w.reconcile();
    expect(w.gs()).toBeUndefined();
  });

  it('keeps the finalizer and is Stalled when an admin credential is refused', async () => {
    const w = await provisioned();
    w.kube.seed(secret('keystone-admin', { username: 'admin', password: 'rotated-elsewhere' }));
    await w.delete();
    expect(await w.reconcile()).toEqual({ requeueAfterMs: STALLED_RETRY_MS });
    expect(w.gs()?.metadata.finalizers).toEqual(['glance.stackops.dev/cleanup']);
    expect(w.condition('Stalled')).toMatchObject({ reason: 'KeystoneAuthFailed' });
    expect(w.externalWrites()).toEqual([]);
  });

  it('is Stalled/CleanupBlocked with an invalid spec, keeping the finalizer', async () => {
    const w = await provisioned();
    w.update({ ...w.spec(), store: { backends: ['rbd', 'rbd'] } });
    await w.delete();
    expect(await w.reconcile()).toEqual({});
    expect(w.condition('Stalled')).toMatchObject({
      reason: 'CleanupBlocked',
      message: 'cannot clean up with an invalid spec: spec.store.backends: lists a backend twice',
    });
    expect(w.gs()?.metadata.finalizers).toEqual(['glance.stackops.dev/cleanup']);
    expect(w.externalWrites()).toEqual([]);
  });

  it('leaves alone an object being deleted that it never finalized', async () => {
    const w = new GlanceWorld();
    w.kube.seed({
      apiVersion: 'glance.stackops.dev/v1alpha1',
      kind: 'GlanceService',
      metadata: {
        name: NAME,
        namespace: NS,
        finalizers: ['someone-else/hold'],
        deletionTimestamp: new Date(),
      },
      spec: w.spec(),
    } as never);
    w.clearWrites();
    expect(await w.reconcile()).toEqual({});
    expect(w.kube.writes).toEqual([]);
    expect(w.externalWrites()).toEqual([]);
  });

  it('does nothing for an object that is gone', async () => {
    const w = new GlanceWorld();
    expect(await w.reconcile('absent')).toEqual({});
    expect(w.kube.writes).toEqual([]);
  });
});
