import type { V1Deployment, V1Secret } from '@kubernetes/client-node';
import { nativePasswordHash } from '../../../fakes/mariadb.js';
import { GlanceWorld, NAME, deploymentRef, ref } from './world.js';

// Each case changes one thing out of band on a converged GlanceService; the next reconcile puts it back,
// says so in an Event, and changes nothing else.
describe('GlanceService reconciler: drift', () => {
  let w: GlanceWorld;
  beforeEach(async () => {
    w = new GlanceWorld();
    w.create();
    await w.converge();
    w.clearWrites();
  });

  const publicEndpoint = () => w.keystone.endpoints.find((e) => e.interface === 'public');

  it('sets a Keystone endpoint changed by hand back to its URL', async () => {
    const endpoint = publicEndpoint();
    Object.assign(endpoint ?? {}, { url: 'http://elsewhere:9292', enabled: false });
    await w.reconcile();
    expect(publicEndpoint()).toMatchObject({
      id: endpoint?.id,
      url: `http://${NAME}-api.openstack.svc:9292`,
      enabled: true,
    });
    expect(w.keystone.writes).toEqual(['PATCH endpoints']);
    expect(w.events.find('KeystoneEndpointUpdated')?.note).toBe(
      `Set the public endpoint in RegionOne to http://${NAME}-api.openstack.svc:9292 (was http://elsewhere:9292)`,
    );
  });

  it('re-enables an endpoint disabled by hand', async () => {
    Object.assign(publicEndpoint() ?? {}, { enabled: false });
    await w.reconcile();
    expect(publicEndpoint()?.enabled).toBe(true);
    expect(w.events.reasons()).toEqual(['KeystoneEndpointUpdated']);
  });

  it('recreates a deleted endpoint and deletes a duplicate one', async () => {
    const endpoints = w.keystone.endpoints;
    const internal = endpoints.find((e) => e.interface === 'internal');
    endpoints.splice(endpoints.indexOf(publicEndpoint() ?? endpoints[0]!), 1);
    endpoints.push({ ...internal!, id: 'duplicate', url: 'http://old:9292' });
    await w.reconcile();
    expect(endpoints.map((e) => e.interface).sort()).toEqual(['admin', 'internal', 'public']);
    expect(endpoints.find((e) => e.id === 'duplicate')).toBeUndefined();
    expect(w.events.reasons()).toEqual(['KeystoneEndpointCreated', 'KeystoneEndpointDeleted']);
  });

  it('re-enables the Keystone user and resets a password changed by hand', async () => {
    const user = w.keystone.user('glance');
    Object.assign(user ?? {}, { enabled: false, password: 'changed-by-hand' });
    await w.reconcile();
    expect(w.keystone.user('glance')).toMatchObject({
      enabled: true,
      password: w.secretValue(`${NAME}-keystone-password`, 'password'),
    });
    expect(w.events.reasons()).toEqual(['KeystoneUserEnabled', 'KeystonePasswordChanged']);
  });

  it('grants the admin role again after it was revoked', async () => {
    const glance = w.keystone.user('glance')?.id ?? '';
    for (const a of w.keystone.assignments) if (a.includes(`/${glance}/`)) w.keystone.assignments.delete(a);
    await w.reconcile();
    expect(w.keystone.writes).toEqual(['PUT projects']);
    expect(w.events.reasons()).toEqual(['KeystoneRoleGranted']);
  });

  it('restores a disabled service, keeping its id', async () => {
    const service = w.keystone.service('glance');
    Object.assign(service ?? {}, { enabled: false, description: 'hijacked' });
    await w.reconcile();
    expect(w.keystone.service('glance')).toMatchObject({
      id: service?.id,
      enabled: true,
      description: 'OpenStack Image',
    });
    expect(w.gs()?.status?.serviceId).toBe(service?.id);
    expect(w.events.reasons()).toEqual(['KeystoneServiceUpdated']);
  });

  it('restores a revoked grant and a database password changed by hand', async () => {
    w.db.account('glance', '%')?.all.clear();
    Object.assign(w.db.account('glance', 'localhost') ?? {}, { hash: nativePasswordHash('by-hand') });
    await w.reconcile();
    const password = w.secretValue(`${NAME}-db-password`, 'password') ?? '';
    expect(w.db.accepts('glance', 'localhost', password)).toBe(true);
    expect(w.db.account('glance', '%')?.all).toEqual(new Set(['glance']));
    expect(w.events.reasons()).toEqual(['DatabasePasswordChanged', 'DatabaseGranted']);
    // Nothing else was rewritten: the config did not change, so neither did the Deployment.
    expect(w.kube.writes).toEqual([]);
  });

  it('recreates a database dropped with its users', async () => {
    w.db.databases.clear();
    for (const host of ['localhost', '%']) w.db.accounts.delete(`glance@${host}`);
    await w.reconcile();
    expect(w.db.databases).toContain('glance');
    expect(w.events.reasons()).toEqual([
      'DatabaseCreated',
      'DatabaseUserCreated',
      'DatabaseGranted',
      'DatabaseUserCreated',
      'DatabaseGranted',
    ]);
  });

  it('restores the Ceph caps, and the client Secret when its key was edited', async () => {
    const auth = w.ceph.auth.get('client.glance');
    Object.assign(auth ?? {}, { caps: { mon: 'allow r', osd: 'allow rwx' } });
    w.kube.edit<V1Secret>(ref('Secret', `${NAME}-ceph-client`), (s) => {
      s.data = { ...s.data, userKey: Buffer.from('wrong').toString('base64') };
    });
    await w.reconcile();
    expect(w.ceph.auth.get('client.glance')?.caps.osd).toContain('allow rwx pool=images');
    expect(w.ceph.writes).toEqual(['auth caps client.glance']);
    expect(w.secretValue(`${NAME}-ceph-client`, 'userKey')).toBe(auth?.key);
    expect(w.events.reasons()).toEqual(['CephCapsRestored', 'SecretRestored']);
  });

  it('initialises a pool whose rbd tag was removed', async () => {
    w.ceph.pools.get('images')!.application_metadata = {};
    await w.reconcile();
    expect(w.ceph.pools.get('images')?.application_metadata).toHaveProperty('rbd');
    expect(w.events.reasons()).toEqual(['CephPoolInitialized']);
  });

  it('restores replicas scaled by hand, without touching anything outside Kubernetes', async () => {
    w.kube.edit<V1Deployment>(deploymentRef, (d) => {
      d.spec!.replicas = 4;
    });
    await w.reconcile();
    expect(w.deployment()?.spec?.replicas).toBe(1);
    expect(w.kube.writes.map((x) => [x.verb, x.kind])).toEqual([
      ['apply', 'Deployment'],
      ['patch-status', 'GlanceService'],
    ]);
    expect(w.externalWrites()).toEqual([]);
    expect(w.events.reasons()).toContain('DeploymentRestored');
  });
});
