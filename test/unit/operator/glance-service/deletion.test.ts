import { IMAGES_POLL_MS } from '../../../../operator/src/glance-service/deletion.js';
import { GlanceWorld, imageRef, NAME, NS, STALLED_RETRY_MS, ref, secret } from './world.js';

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
    // Their marks go.
    expect(w.ceph.writes).toEqual([
      'auth del client.glance',
      'config-key rm glance-operator/auth/client.glance',
      'config-key rm glance-operator/pool/images',
    ]);
    expect(w.ceph.configKeys.size).toBe(0);
    expect(w.events.reasons()).not.toContain('ImagesClaimDeleted');
    // The dropped database's comment was the only record of whose its accounts were.
    expect(w.db.account('glance', '%')).toBeDefined();
    expect(w.events.find('DatabaseLeft')?.note).toBe(
      "Database glance is gone; left user(s) 'glance'@'localhost', 'glance'@'%': nothing marks them as " +
        "this GlanceService's",
    );
  });

  it('keeps the finalizer and retries when a system is down, cleaning the others meanwhile, then finishes', async () => {
    const w = await provisioned();
    await w.delete();
    w.ceph.down = true;
    await expect(w.reconcile()).rejects.toThrow('Ceph (mon_host [v2:10.0.0.2:3300]) is unreachable');
    expect(w.gs()?.metadata.finalizers).toEqual(['glance.stackops.dev/cleanup']);
    expect(w.conditions()[0]).toEqual(['Ready', 'False', 'CleanupRetrying']);
    expect(w.condition('Ready')?.message).toMatch(
      /^Ceph user client.glance and pool images were left: Ceph \(mon_host .*\) is unreachable: .*; the operator gives up and leaves it at \d{4}-/,
    );
    expect(w.keystone.service('glance')).toBeUndefined();
    expect(w.db.databases.has('glance')).toBe(false);

    w.ceph.down = false;
    await w.reconcile();
    expect(w.gs()).toBeUndefined();
    expect(w.ceph.auth.has('client.glance')).toBe(false);
  });

  it('keeps the finalizer and is Stalled when an admin credential is refused, cleaning what it can', async () => {
    const w = await provisioned();
    w.kube.seed(secret('keystone-admin', { username: 'admin', password: 'rotated-elsewhere' }));
    await w.delete();
    expect(await w.reconcile()).toEqual({ requeueAfterMs: STALLED_RETRY_MS });
    expect(w.gs()?.metadata.finalizers).toEqual(['glance.stackops.dev/cleanup']);
    expect(w.condition('Stalled')).toMatchObject({ reason: 'KeystoneAuthFailed' });
    expect(w.keystone.writes).toEqual([]);
    expect(w.db.databases.has('glance')).toBe(false);
  });

  it('is Stalled/CleanupBlocked with an invalid spec, keeping the finalizer until the deadline', async () => {
    const w = await provisioned();
    w.update({ ...w.spec(), store: { backends: ['rbd', 'rbd'] } });
    await w.delete();
    expect(await w.reconcile()).toEqual({ requeueAfterMs: STALLED_RETRY_MS });
    expect(w.condition('Stalled')).toMatchObject({ reason: 'CleanupBlocked' });
    expect(w.condition('Stalled')?.message).toMatch(
      /^Nothing it made in Keystone, MariaDB or Ceph was cleaned up: cannot clean up with an invalid spec: spec.store.backends: lists a backend twice; the operator gives up/,
    );
    expect(w.gs()?.metadata.finalizers).toEqual(['glance.stackops.dev/cleanup']);
    expect(w.externalWrites()).toEqual([]);

    w.pastDeletionDeadline();
    expect(await w.reconcile()).toEqual({});
    expect(w.gs()).toBeUndefined();
    expect(w.events.find('CleanupAbandoned')).toMatchObject({ type: 'Warning' });
  });

  describe('when credentials are missing while it is deleted', () => {
    it('in a namespace being deleted, leaves what a missing admin Secret guarded, with a Warning, and lets go', async () => {
      const w = await provisioned();
      await w.kube.delete(ref('Secret', 'db-admin'));
      w.namespaceGoing();
      await w.delete();

      expect(await w.reconcile()).toEqual({});
      expect(w.gs()).toBeUndefined();
      expect(w.events.find('CleanupAbandoned')).toMatchObject({
        type: 'Warning',
        note:
          `MariaDB database glance and user glance were left: Secret ${NS}/db-admin does not exist ` +
          '(its namespace is being deleted)',
      });
      // What other credentials could still reach was cleaned.
      expect(w.keystone.user('glance')).toBeUndefined();
      expect(w.ceph.auth.has('client.glance')).toBe(false);
      expect(w.db.databases.has('glance')).toBe(true);
      for (const e of w.events.events) expect(e.note).not.toContain(w.db.admin.password);
    });

    it('in a namespace being deleted, treats an admin Secret without the access label the same way', async () => {
      const w = await provisioned();
      w.kube.seed(secret('ceph-admin', { keyring: w.ceph.adminKeyring() }, false));
      w.namespaceGoing();
      await w.delete();

      expect(await w.reconcile()).toEqual({});
      expect(w.gs()).toBeUndefined();
      expect(w.events.find('CleanupAbandoned')?.note).toMatch(
        /^Ceph user client.glance and pool images were left: Secret openstack\/ceph-admin lacks the label/,
      );
      expect(w.ceph.auth.has('client.glance')).toBe(true);
      expect(w.db.databases.has('glance')).toBe(false);
    });

    it('elsewhere, is Stalled until the deadline (a person may bring the Secret back), then lets go with a Warning', async () => {
      const w = await provisioned();
      await w.kube.delete(ref('Secret', 'db-admin'));
      await w.delete();

      expect(await w.reconcile()).toEqual({ requeueAfterMs: STALLED_RETRY_MS });
      expect(w.condition('Stalled')).toMatchObject({ reason: 'SecretNotFound' });
      expect(w.condition('Stalled')?.message).toContain('the operator gives up and leaves it at');
      expect(w.gs()?.metadata.finalizers).toEqual(['glance.stackops.dev/cleanup']);

      w.pastDeletionDeadline();
      expect(await w.reconcile()).toEqual({});
      expect(w.gs()).toBeUndefined();
      expect(w.events.find('CleanupAbandoned')?.note).toBe(
        `MariaDB database glance and user glance were left: Secret ${NS}/db-admin does not exist ` +
          '(the deletion timed out)',
      );
    });

    it('lets go of a system that stays unreachable once the deadline has passed', async () => {
      const w = await provisioned();
      await w.delete();
      w.ceph.down = true;
      await expect(w.reconcile()).rejects.toThrow('is unreachable');
      w.pastDeletionDeadline();
      expect(await w.reconcile()).toEqual({});
      expect(w.gs()).toBeUndefined();
      expect(w.events.find('CleanupAbandoned')?.note).toMatch(
        /^Ceph user client.glance and pool images were left: Ceph .* is unreachable.*\(the deletion timed out\)$/,
      );
    });
  });

  describe('and the Images that use it', () => {
    it('waits for them, saying so, keeping its Keystone user until they are gone', async () => {
      const w = await provisioned();
      w.image('cirros', 'images');
      w.image('ubuntu', 'images');
      w.image('elsewhere', 'other');
      await w.delete();

      expect(await w.reconcile()).toEqual({ requeueAfterMs: IMAGES_POLL_MS });
      expect(w.conditions().slice(0, 2)).toEqual([
        ['Ready', 'False', 'WaitingForImages'],
        ['Reconciling', 'True', 'WaitingForImages'],
      ]);
      expect(w.condition('Ready')?.message).toMatch(
        /^waiting for 2 Image\(s\) that use it to be deleted first \(cirros, ubuntu\)/,
      );
      expect(w.keystone.user('glance')).toBeDefined();
      expect(w.externalWrites()).toEqual([]);
      expect(w.events.reasons()).toEqual(['WaitingForImages']);

      await w.kube.delete(imageRef('cirros'));
      await w.kube.delete(imageRef('ubuntu'));
      expect(await w.reconcile()).toEqual({});
      expect(w.gs()).toBeUndefined();
      expect(w.keystone.user('glance')).toBeUndefined();
    });

    it('does not wait for them when its namespace is being deleted', async () => {
      const w = await provisioned();
      w.image('cirros', 'images');
      w.namespaceGoing();
      await w.delete();
      expect(await w.reconcile()).toEqual({});
      expect(w.gs()).toBeUndefined();
    });

    it('stops waiting at the deadline, with a Warning naming them', async () => {
      const w = await provisioned();
      w.image('cirros', 'images');
      await w.delete();
      await w.reconcile();
      w.pastDeletionDeadline();
      expect(await w.reconcile()).toEqual({});
      expect(w.gs()).toBeUndefined();
      expect(w.events.find('StoppedWaitingForImages')).toMatchObject({ type: 'Warning' });
      expect(w.events.find('StoppedWaitingForImages')?.note).toContain('1 Image(s) that use it (cirros)');
    });
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
