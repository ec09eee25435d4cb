import { KeystoneAuthError } from '../../../../operator/src/image/keystone-session.js';
import { IMAGE_FINALIZER } from '../../../../operator/src/image/names.js';
import { glanceError } from '../../../fakes/glance-images.js';
import { kubeErrors } from '../../../fakes/kube-client.js';
import type { ImageStatus } from '../../../../operator/src/api/image-types.js';
import { DATA, imageSpec, NS, secret, TIMINGS, World } from './world.js';

const glanceService = (spec: unknown) => ({
  apiVersion: 'glance.stackops.dev/v1alpha1',
  kind: 'GlanceService',
  metadata: { name: 'glance', namespace: NS },
  spec,
});

describe('Image reconciler: create, upload, Ready', () => {
  it('creates the image under an id recorded first, streams the source into it, and reports Ready', async () => {
    const w = new World().apply(imageSpec({ tags: ['cirros'] }));
    const ended = w.transferEnd();
    expect(await w.reconcile()).toEqual({ requeueAfterMs: TIMINGS.progressMs });
    const id = w.status().imageID!;
    expect(w.glance.images.get(id)).toMatchObject({ name: 'cirros', disk_format: 'raw', tags: ['cirros'] });
    expect(w.object()?.metadata.finalizers).toEqual([IMAGE_FINALIZER]);
    expect(w.status()).toMatchObject({ phase: 'Waiting', attempts: 1, method: 'upload' });
    expect(w.conditions()).toEqual(['Ready=False/TransferStarted', 'Reconciling=True/TransferStarted']);
    expect(w.events.reasons()).toEqual(['Created']);

    await ended;
    expect(await w.reconcile()).toEqual({ requeueAfterMs: TIMINGS.resyncMs });
    expect(w.status()).toMatchObject({
      phase: 'Ready',
      imageID: id,
      size: DATA.length,
      progress: { bytes: DATA.length, total: DATA.length, percent: 100 },
    });
    expect(w.status().lastError).toBeUndefined();
    expect(w.conditions()).toEqual(['Ready=True/Active']);
    expect(w.condition('Ready')?.message).toBe(`image ${id} is active (${DATA.length} bytes)`);
    expect(w.events.reasons()).toEqual(['Created', 'Uploaded']);
  });

  it('writes nothing, calls nothing that changes Glance and records no Event when nothing changed', async () => {
    const w = new World().apply(imageSpec());
    await w.reconcileThroughTransfer();
    w.quiet();
    expect(await w.reconcile()).toEqual({ requeueAfterMs: TIMINGS.resyncMs });
    expect(w.kube.writes).toEqual([]);
    expect(w.glance.writes()).toEqual([]);
    expect(w.events.events).toEqual([]);
  });

  it('puts back what changed in Glance: attributes, the tag set, properties, and removes properties added by hand', async () => {
    const w = new World().apply(imageSpec({ tags: ['a'], properties: { os_distro: 'cirros' } }));
    await w.reconcileThroughTransfer();
    const id = w.status().imageID!;
    w.glance.edit(id, {
      name: 'renamed',
      tags: ['a', 'b'],
      os_distro: 'other',
      hand_made: 'x',
      os_admin_note: 'kept',
    });
    w.quiet();
    await w.reconcile();
    expect(w.glance.images.get(id)).toMatchObject({
      name: 'cirros',
      tags: ['a'],
      os_distro: 'cirros',
      os_admin_note: 'kept',
    });
    expect(w.glance.images.get(id)).not.toHaveProperty('hand_made');
    expect(w.events.find('DriftRepaired')?.note).toBe(
      'Put back what changed in Glance: replace name, replace tags, replace os_distro, remove hand_made',
    );
    expect(w.conditions()).toEqual(['Ready=True/Active']);
    expect(w.kube.writes).toEqual([]);
  });

  it('uploads again into a new image when the image was deleted by hand', async () => {
    const w = new World().apply(imageSpec());
    await w.reconcileThroughTransfer();
    const old = w.status().imageID!;
    w.glance.images.delete(old);
    w.quiet();
    await w.reconcileThroughTransfer();
    expect(w.status().imageID).not.toBe(old);
    expect(w.events.find('ImageMissing')).toMatchObject({
      type: 'Warning',
      note: `Image ${old} is gone from Glance; uploading again`,
    });
    expect(w.conditions()).toEqual(['Ready=True/Active']);
  });

  it('removes a killed image and creates another', async () => {
    const w = new World().apply(imageSpec());
    const ended = w.transferEnd();
    w.source.failNext(new Error('connection reset'));
    await w.reconcile();
    await ended;
    const killed = w.status().imageID!;
    w.glance.edit(killed, { status: 'killed' });
    await w.reconcile();
    expect(w.glance.calls).toContainEqual({ op: 'remove', id: killed });
    expect(w.status().imageID).not.toBe(killed);
    expect(w.glance.images.has(killed)).toBe(false);
  });

  it('records the image id in the status before asking Glance, so a failed create is retried under it', async () => {
    const w = new World().apply(imageSpec());
    w.glance.failNext('create', glanceError(503, 'Glance POST /v2/images: HTTP 503'));
    await expect(w.reconcile()).rejects.toThrow('HTTP 503');
    const first = w.kube.writes.find((x) => x.verb === 'patch-status')?.body as ImageStatus;
    expect(first).toMatchObject({ phase: 'Pending', imageID: w.status().imageID });
    expect(first.conditions?.map((c) => c.reason)).toEqual(['Creating', 'Creating']);
    const id = w.status().imageID!;
    await w.reconcile();
    expect(w.glance.calls.filter((c) => c.op === 'create').map((c) => c.id)).toEqual([id, id]);
    expect(w.glance.images.has(id)).toBe(true);
  });

  it('uploads with the Keystone user the operator registered for a GlanceService, and its generated password', async () => {
    const w = new World().apply({ ...imageSpec(), cloud: undefined, glanceServiceRef: { name: 'glance' } });
    w.kube.seed(
      glanceService({
        image: 'glance-api',
        database: { host: 'db', adminSecretRef: { name: 'db' } },
        keystone: { authUrl: 'http://keystone.test:5000/v3', adminSecretRef: { name: 'ks' } },
      }),
      secret('glance-keystone-password', { password: 'generated' }),
    );
    await w.reconcileThroughTransfer();
    expect(w.connected[0]?.credentials).toMatchObject({
      username: 'glance',
      password: 'generated',
      project: 'service',
    });
    expect(w.status().phase).toBe('Ready');
  });

  it('draws a fresh id when Glance has seen the recorded one (409), as after a crash between the two', async () => {
    const w = new World();
    const taken = w.glance.put({ status: 'deleted' }).id;
    w.glance.images.delete(taken);
    w.apply(imageSpec());
    w.edit((o) => (o.status = { imageID: taken }));
    await w.reconcile();
    expect(w.status().imageID).not.toBe(taken);
    expect(w.glance.calls.filter((c) => c.op === 'create')).toHaveLength(2);
  });
});

describe('Image reconciler: failures before anything is created', () => {
  it('reports an invalid spec as Stalled InvalidSpec and waits for a new spec', async () => {
    const w = new World().apply({ ...imageSpec(), glanceServiceRef: { name: 'glance' } });
    expect(await w.reconcile()).toEqual({});
    expect(w.status().phase).toBe('Failed');
    expect(w.conditions()).toEqual(['Ready=False/InvalidSpec', 'Stalled=True/InvalidSpec']);
    expect(w.condition('Stalled')?.message).toContain('set exactly one of glanceServiceRef and cloud');
    expect(w.glance.calls).toEqual([]);
  });

  it('stalls on a missing credentials Secret without adding the finalizer, and retries slowly', async () => {
    const w = new World().apply(
      imageSpec({
        cloud: { authUrl: 'http://keystone.test:5000/v3', credentialsSecretRef: { name: 'nope' } },
      }),
    );
    expect(await w.reconcile()).toEqual({ requeueAfterMs: TIMINGS.stalledRetryMs });
    expect(w.conditions()).toEqual(['Ready=False/SecretNotFound', 'Stalled=True/SecretNotFound']);
    expect(w.status().lastError).toBe('Secret ns/nope does not exist');
    expect(w.object()?.metadata.finalizers).toBeUndefined();
  });

  it('stalls SecretNotAllowed on a credentials Secret without the access label, sending it to no Keystone', async () => {
    const w = new World().apply(imageSpec());
    w.kube.seed(
      secret('cloud-credentials', { username: 'admin', password: 'admin-password', project: 'admin' }, false),
    );
    expect(await w.reconcile()).toEqual({ requeueAfterMs: TIMINGS.stalledRetryMs });
    expect(w.conditions()).toEqual(['Ready=False/SecretNotAllowed', 'Stalled=True/SecretNotAllowed']);
    expect(w.connected).toEqual([]);
    expect(w.glance.calls).toEqual([]);
  });

  it("stalls SecretNotAllowed when the GlanceService's Keystone password Secret is not labelled", async () => {
    const w = new World().apply({ ...imageSpec(), cloud: undefined, glanceServiceRef: { name: 'glance' } });
    w.kube.seed(
      glanceService({
        image: 'glance-api',
        database: { host: 'db', adminSecretRef: { name: 'db' } },
        keystone: { authUrl: 'http://attacker.test:5000/v3', adminSecretRef: { name: 'ks' } },
      }),
      secret('glance-keystone-password', { password: 'not-made-by-the-operator' }, false),
    );
    expect(await w.reconcile()).toEqual({ requeueAfterMs: TIMINGS.stalledRetryMs });
    expect(w.conditions()).toEqual(['Ready=False/SecretNotAllowed', 'Stalled=True/SecretNotAllowed']);
    expect(w.connected).toEqual([]);
  });

  it.each([
    [
      'a Keystone on the metadata address',
      { authUrl: 'http://169.254.169.254/v3' },
      '169.254.169.254 port 80',
    ],
    ['a Keystone on loopback', { authUrl: 'http://127.0.0.1:5000/v3' }, '127.0.0.1 port 5000'],
    [
      'an image URL whose name resolves to link-local',
      { imageUrl: 'http://metadata.test:9292' },
      'metadata.test (169.254.169.254) port 9292',
    ],
  ])(
    'stalls EndpointNotAllowed for %s in cloud, sending the credentials nowhere',
    async (_what, cloud, named) => {
      const w = new World().apply(imageSpec({ cloud: { ...imageSpec().cloud, ...cloud } }));
      expect(await w.reconcile()).toEqual({ requeueAfterMs: TIMINGS.stalledRetryMs });
      expect(w.conditions()).toEqual(['Ready=False/EndpointNotAllowed', 'Stalled=True/EndpointNotAllowed']);
      expect(w.status().lastError).toContain(named);
      expect(w.connected).toEqual([]);
      expect(w.glance.calls).toEqual([]);
      expect(w.object()?.metadata.finalizers).toBeUndefined();
    },
  );

  it("stalls EndpointNotAllowed when the GlanceService's Keystone is on a refused address", async () => {
    const w = new World().apply({ ...imageSpec(), cloud: undefined, glanceServiceRef: { name: 'glance' } });
    w.kube.seed(
      glanceService({
        image: 'glance-api',
        database: { host: 'db', adminSecretRef: { name: 'db' } },
        keystone: { authUrl: 'http://169.254.169.254:5000/v3', adminSecretRef: { name: 'ks' } },
      }),
      secret('glance-keystone-password', { password: 'generated' }),
    );
    expect(await w.reconcile()).toEqual({ requeueAfterMs: TIMINGS.stalledRetryMs });
    expect(w.conditions()).toEqual(['Ready=False/EndpointNotAllowed', 'Stalled=True/EndpointNotAllowed']);
    expect(w.connected).toEqual([]);
  });

  it('stalls GlanceServiceInvalid when the GlanceService it targets is invalid', async () => {
    const w = new World().apply({ ...imageSpec(), cloud: undefined, glanceServiceRef: { name: 'glance' } });
    w.kube.seed(glanceService({}));
    expect(await w.reconcile()).toEqual({ requeueAfterMs: TIMINGS.stalledRetryMs });
    expect(w.conditions()).toEqual(['Ready=False/GlanceServiceInvalid', 'Stalled=True/GlanceServiceInvalid']);
  });

  it('stalls SecretKeyMissing on a credentials Secret without a password', async () => {
    const w = new World().apply(imageSpec());
    w.kube.seed(secret('cloud-credentials', { username: 'demo', project: 'demo' }));
    await w.reconcile();
    expect(w.condition('Stalled')).toMatchObject({
      reason: 'SecretKeyMissing',
      message: 'Secret ns/cloud-credentials has no key "password"',
    });
  });

  it('stalls when Keystone refuses the credentials', async () => {
    const w = new World().apply(imageSpec());
    w.connectError = new KeystoneAuthError(
      'KeystoneAuthFailed',
      'Keystone refused user demo in project demo (HTTP 401)',
    );
    expect(await w.reconcile()).toEqual({ requeueAfterMs: TIMINGS.stalledRetryMs });
    expect(w.conditions()).toEqual(['Ready=False/KeystoneAuthFailed', 'Stalled=True/KeystoneAuthFailed']);
  });

  it('takes a GlanceService not applied yet as transient: Retrying, and the error thrown for backoff', async () => {
    const w = new World().apply({ ...imageSpec(), cloud: undefined, glanceServiceRef: { name: 'later' } });
    await expect(w.reconcile()).rejects.toThrow('GlanceService ns/later does not exist (yet)');
    expect(w.status()).toMatchObject({
      phase: 'Retrying',
      lastError: 'GlanceService ns/later does not exist (yet)',
    });
    expect(w.conditions()).toEqual(['Ready=False/Unavailable', 'Reconciling=True/Unavailable']);
  });

  it('stalls GlanceRefused when Glance refuses the image itself', async () => {
    const w = new World().apply(imageSpec());
    w.glance.failNext('create', glanceError(400, 'Glance POST /v2/images: HTTP 400 bad property'));
    expect(await w.reconcile()).toEqual({ requeueAfterMs: TIMINGS.stalledRetryMs });
    expect(w.conditions()).toEqual(['Ready=False/GlanceRefused', 'Stalled=True/GlanceRefused']);
  });

  it('forgets the session when Glance refuses its token, and retries', async () => {
    const w = new World().apply(imageSpec());
    w.glance.failNext('create', glanceError(401));
    await expect(w.reconcile()).rejects.toThrow('HTTP 401');
    expect(w.forgotten).toHaveLength(1);
    expect(w.conditions()).toEqual(['Ready=False/Unavailable', 'Reconciling=True/Unavailable']);
  });

  it('keeps a Ready image Ready while Glance is unreachable', async () => {
    const w = new World().apply(imageSpec());
    await w.reconcileThroughTransfer();
    w.glance.failNext('get', glanceError(503, 'Glance GET: HTTP 503'));
    await expect(w.reconcile()).rejects.toThrow('HTTP 503');
    expect(w.status()).toMatchObject({ phase: 'Ready', lastError: 'Glance GET: HTTP 503' });
    expect(w.conditions()).toEqual(['Ready=True/Unavailable']);
  });

  it('retries when the finalizer patch conflicts with another writer', async () => {
    const w = new World().apply(imageSpec());
    w.kube.failNext('patch', kubeErrors.conflict());
    await expect(w.reconcile()).rejects.toThrow();
    expect(w.glance.writes()).toEqual([]);
    await w.reconcile();
    expect(w.object()?.metadata.finalizers).toEqual([IMAGE_FINALIZER]);
  });
});
