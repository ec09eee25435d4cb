import { jest } from '@jest/globals';
import { ApiException } from '@kubernetes/client-node';
import { kubeErrors } from '../../../fakes/kube-client.js';
import { cephxKey, keyringFor } from '../../../fakes/ceph.js';
import { OPERATOR_ACCESS_LABEL } from '../../../../operator/src/api/glance-service-types.js';
import { GlanceWorld, NAME, NS, RESYNC_MS, STALLED_RETRY_MS, ref, secret } from './world.js';

describe('GlanceService reconciler: a spec it cannot act on', () => {
  it('adds nothing when the finalizer cannot be added (a conflict), for a retry from a fresh read', async () => {
    const w = new GlanceWorld();
    w.create();
    w.kube.failNext('patch', kubeErrors.conflict(), 'GlanceService');
    await expect(w.reconcile()).rejects.toThrow();
    expect(w.externalWrites()).toEqual([]);
    expect(w.gs()?.metadata.finalizers).toBeUndefined();
    expect([w.db.open, w.ceph.open]).toEqual([0, 0]);
    await w.reconcile();
    expect(w.gs()?.metadata.finalizers).toEqual(['glance.stackops.dev/cleanup']);
  });

  it('is Stalled/InvalidSpec naming the field, without a finalizer or any session', async () => {
    const w = new GlanceWorld();
    w.create(w.spec({ ceph: undefined, store: { backends: ['rbd'] } }));
    expect(await w.reconcile()).toEqual({});
    expect(w.conditions()).toEqual([
      ['Ready', 'False', 'InvalidSpec'],
      ['Stalled', 'True', 'InvalidSpec'],
      ['DatabaseReady', 'Unknown', 'NotChecked'],
      ['KeystoneReady', 'Unknown', 'NotChecked'],
      ['CephReady', 'Unknown', 'NotChecked'],
      ['ConfigReady', 'Unknown', 'NotChecked'],
      ['DeploymentReady', 'Unknown', 'NotChecked'],
    ]);
    expect(w.condition('Stalled')?.message).toBe('spec.ceph: is required when store.backends has rbd');
    expect(w.gs()?.metadata.finalizers).toBeUndefined();
    expect(w.events.events.map((e) => [e.type, e.reason])).toEqual([['Warning', 'InvalidSpec']]);
    expect(w.externalWrites()).toEqual([]);
  });
});

/** Asserts that nothing was created in any system and no finalizer added: the object can go at once. */
function expectNothingCreated(w: GlanceWorld): void {
  expect(w.gs()?.metadata.finalizers).toBeUndefined();
  expect(w.externalWrites()).toEqual([]);
  expect(
    w.kube.all('Secret').filter((s) => s.metadata.labels?.['app.kubernetes.io/instance'] === NAME),
  ).toEqual([]);
  expect(w.kube.writes.map((x) => x.verb)).toEqual(['patch-status']);
  expect([w.db.open, w.ceph.open]).toEqual([0, 0]);
}

describe('GlanceService reconciler: admin credentials a person must fix', () => {
  const wrongKeyring = keyringFor('client.admin', cephxKey());
  const malformed = keyringFor('client.admin', Buffer.from('not a key').toString('base64'));
  const cases: Array<{
    reason: string;
    step: string;
    secret: string;
    data: Record<string, string>;
    message: string;
  }> = [
    {
      reason: 'DatabaseAuthFailed',
      step: 'DatabaseReady',
      secret: 'db-admin',
      data: { username: 'root', password: 'wrong' },
      message: `MariaDB at mariadb.test:3306 refused the admin credentials in Secret ${NS}/db-admin: fix the Secret`,
    },
    {
      reason: 'KeystoneAuthFailed',
      step: 'KeystoneReady',
      secret: 'keystone-admin',
      data: { username: 'admin', password: 'wrong' },
      message:
        `Keystone at http://keystone.test:5000/v3 refused the admin credentials in Secret ${NS}/keystone-admin ` +
        '(project admin): fix the Secret',
    },
    {
      reason: 'CephAuthFailed',
      step: 'CephReady',
      secret: 'ceph-admin',
      data: { keyring: wrongKeyring },
      message:
        'Ceph (mon_host [v2:10.0.0.2:3300]) refused client.admin with the keyring in Secret ' +
        `${NS}/ceph-admin: fix the Secret`,
    },
    {
      reason: 'InvalidCephKeyring',
      step: 'CephReady',
      secret: 'ceph-admin',
      data: { keyring: malformed },
      message: `key "keyring" of Secret ${NS}/ceph-admin is not a keyring: its "key =" value is not a cephx key`,
    },
    {
      reason: 'SecretKeyMissing',
      step: 'KeystoneReady',
      secret: 'keystone-admin',
      data: { username: 'admin' },
      message: `Secret ${NS}/keystone-admin has no key "password"`,
    },
  ];

  it.each(cases)('stops at $reason on $step, having created nothing anywhere', async (c) => {
    const w = new GlanceWorld();
    w.kube.seed(secret(c.secret, c.data));
    w.create();
    expect(await w.reconcile()).toEqual({ requeueAfterMs: STALLED_RETRY_MS });
    expect(w.condition('Stalled')).toMatchObject({
      status: 'True',
      reason: c.reason,
      message: `${c.step}: ${c.message}`,
    });
    expect(w.condition(c.step)).toMatchObject({ status: 'False', reason: c.reason, message: c.message });
    expect(w.condition('Ready')).toMatchObject({ status: 'False', reason: c.reason });
    expect(w.condition('Reconciling')).toBeUndefined();
    expectNothingCreated(w);
    expect(w.events.events.filter((e) => e.reason === c.reason).map((e) => e.type)).toEqual([
      'Warning',
      'Warning',
    ]);
  });

  it.each([
    ['db-admin', 'DatabaseReady', 'db'],
    ['keystone-admin', 'KeystoneReady', 'keystone'],
    ['ceph-admin', 'CephReady', 'ceph'],
  ] as const)(
    'is Stalled/SecretNotAllowed for %s without the access label, sending it nowhere, and recovers once labelled',
    async (name, step, system) => {
      const w = new GlanceWorld();
      const connect = jest.spyOn(w[system], 'connect');
      w.kube.edit(ref('Secret', name), (s) => (s.metadata.labels = { team: 'databases' }));
      w.create();
      expect(await w.reconcile()).toEqual({ requeueAfterMs: STALLED_RETRY_MS });
      const message =
        `Secret ${NS}/${name} lacks the label ${OPERATOR_ACCESS_LABEL}="true": the operator reads only Secrets ` +
        `carrying it; if this one is meant for the operator: kubectl label secret -n ${NS} ${name} ` +
        `${OPERATOR_ACCESS_LABEL}=true`;
      expect(w.condition(step)).toMatchObject({ status: 'False', reason: 'SecretNotAllowed', message });
      expect(w.condition('Stalled')).toMatchObject({
        reason: 'SecretNotAllowed',
        message: `${step}: ${message}`,
      });
      expectNothingCreated(w);
      expect(connect).not.toHaveBeenCalled();

      w.kube.edit(ref('Secret', name), (s) => (s.metadata.labels = { [OPERATOR_ACCESS_LABEL]: 'true' }));
      expect(await w.reconcile()).toEqual({ requeueAfterMs: RESYNC_MS });
      expect(w.condition('Stalled')).toBeUndefined();
    },
  );

  it("is Stalled/SecretNotAllowed for an admin Secret that is another GlanceService's generated password", async () => {
    const w = new GlanceWorld();
    const connect = jest.spyOn(w.db, 'connect');
    w.kube.edit(ref('Secret', 'db-admin'), (s) => {
      s.metadata.labels = {
        ...s.metadata.labels,
        'app.kubernetes.io/managed-by': 'glance-operator',
        'app.kubernetes.io/component': 'credentials',
        'app.kubernetes.io/instance': 'other-glance',
      };
    });
    w.create();
    expect(await w.reconcile()).toEqual({ requeueAfterMs: STALLED_RETRY_MS });
    expect(w.condition('DatabaseReady')).toMatchObject({
      status: 'False',
      reason: 'SecretNotAllowed',
      message: `Secret ${NS}/db-admin holds a password the operator generated for GlanceService other-glance, used only on its behalf`,
    });
    expectNothingCreated(w);
    expect(connect).not.toHaveBeenCalled();
  });

  it('is Stalled/SecretNotFound for a missing admin Secret, and recovers once it exists', async () => {
    const w = new GlanceWorld();
    w.create(w.spec({ database: { host: 'mariadb.test', adminSecretRef: { name: 'db-admin-missing' } } }));
    expect(await w.reconcile()).toEqual({ requeueAfterMs: STALLED_RETRY_MS });
    expect(w.condition('DatabaseReady')).toMatchObject({
      status: 'False',
      reason: 'SecretNotFound',
      message: `Secret ${NS}/db-admin-missing does not exist`,
    });
    expect(w.condition('Stalled')?.reason).toBe('SecretNotFound');
    expectNothingCreated(w);

    w.kube.seed(secret('db-admin-missing', { username: 'root', password: 'root-password' }));
    expect(await w.reconcile()).toEqual({ requeueAfterMs: RESYNC_MS });
    expect(w.condition('Stalled')).toBeUndefined();
    expect(w.condition('DatabaseReady')?.status).toBe('True');
    expect(w.events.find('Provisioned')?.type).toBe('Normal');
  });

  it('is Stalled at DatabaseReady when a referenced password Secret is missing, after the finalizer is on', async () => {
    const w = new GlanceWorld();
    const spec = w.spec();
    w.create({ ...spec, database: { ...(spec.database as object), passwordSecretRef: { name: 'nope' } } });
    expect(await w.reconcile()).toEqual({ requeueAfterMs: STALLED_RETRY_MS });
    expect(w.condition('DatabaseReady')).toMatchObject({ reason: 'SecretNotFound' });
    expect(w.condition('KeystoneReady')).toMatchObject({ status: 'Unknown', reason: 'NotChecked' });
    expect(w.gs()?.metadata.finalizers).toEqual(['glance.stackops.dev/cleanup']);
    expect(w.externalWrites()).toEqual([]);
  });
});

describe('GlanceService reconciler: Keystone lacking what the spec names', () => {
  it('is Stalled/KeystoneDomainNotFound for an unknown service domain', async () => {
    const w = new GlanceWorld();
    const spec = w.spec();
    w.create({ ...spec, keystone: { ...(spec.keystone as object), serviceDomainName: 'Nowhere' } });
    expect(await w.reconcile()).toEqual({ requeueAfterMs: STALLED_RETRY_MS });
    expect(w.condition('KeystoneReady')).toMatchObject({
      status: 'False',
      reason: 'KeystoneDomainNotFound',
      message: 'Keystone has no domain "Nowhere" (spec.keystone.serviceDomainName)',
    });
    expect(w.condition('Stalled')?.reason).toBe('KeystoneDomainNotFound');
    expect(w.keystone.writes).toEqual([]);
  });

  it('is Stalled/KeystoneRoleNotFound without an admin role to grant', async () => {
    const w = new GlanceWorld();
    w.create();
    // The admin session is already open when the role is looked up; a cloud could name its roles otherwise.
    const connect = w.keystone.connect.bind(w.keystone);
    jest.spyOn(w.keystone, 'connect').mockImplementation(async (url, admin) => {
      const session = await connect(url, admin);
      w.keystone.role('admin').name = 'Admin';
      return session;
    });
    expect(await w.reconcile()).toEqual({ requeueAfterMs: STALLED_RETRY_MS });
    expect(w.condition('KeystoneReady')).toMatchObject({
      reason: 'KeystoneRoleNotFound',
      message: 'Keystone has no role "admin"',
    });
  });
});

describe('GlanceService reconciler: a dependency that is down', () => {
  const cases = [
    {
      system: 'MariaDB',
      step: 'DatabaseReady',
      down: (w: GlanceWorld) => (w.db.down = true),
      message: 'MariaDB at mariadb.test:3306 is unreachable: ECONNREFUSED',
    },
    {
      system: 'Keystone',
      step: 'KeystoneReady',
      down: (w: GlanceWorld) => (w.keystone.down = true),
      message: 'Keystone at http://keystone.test:5000/v3 is unreachable: fetch failed',
    },
    {
      system: 'Ceph',
      step: 'CephReady',
      down: (w: GlanceWorld) => (w.ceph.down = true),
      message: expect.stringMatching(
        /^Ceph \(mon_host \[v2:10\.0\.0\.2:3300\]\) is unreachable: .*timed out/,
      ),
    },
  ];

  it.each(cases)(
    'reports $step Unavailable when $system is down and throws for a retry with backoff',
    async (c) => {
      const w = new GlanceWorld();
      w.create();
      c.down(w);
      await expect(w.reconcile()).rejects.toThrow(/unreachable/);
      expect(w.condition(c.step)).toMatchObject({
        status: 'False',
        reason: 'Unavailable',
        message: c.message,
      });
      // Ready names the first step that is not True: on a first pass, that may be one never checked.
      expect(w.condition('Ready')?.status).toBe('False');
      expect(w.condition('Reconciling')).toMatchObject({ status: 'True' });
      expect(w.condition('Stalled')).toBeUndefined();
      expect(w.events.find('Unavailable')?.type).toBe('Warning');
      expectNothingCreated(w);
    },
  );

  it('reports Unavailable on the step that met a transient failure, keeping what earlier steps found', async () => {
    const w = new GlanceWorld();
    w.create();
    await w.reconcile();
    w.update(w.spec({ extraConfig: { DEFAULT: { debug: 'true' } } }));
    // The changed setting makes the config Secret the first object to write.
    w.kube.failNext('apply', kubeErrors.unavailable(), 'Secret');
    await expect(w.reconcile()).rejects.toThrow('the server is currently unable to handle the request');
    expect(w.condition('ConfigReady')).toMatchObject({ status: 'False', reason: 'Unavailable' });
    expect(w.condition('ConfigReady')?.message).toContain(
      'the server is currently unable to handle the request',
    );
    expect(w.condition('Ready')).toMatchObject({ status: 'False', reason: 'Unavailable' });
    expect(w.condition('CephReady')).toMatchObject({ status: 'True', observedGeneration: 2 });
    // The step after keeps its last condition: it was not checked this time.
    expect(w.condition('DeploymentReady')).toMatchObject({
      reason: 'MigrationPending',
      observedGeneration: 2,
    });
  });

  it('is Stalled/Rejected when the API server refuses an object as specified', async () => {
    const w = new GlanceWorld();
    w.create();
    w.kube.failNext(
      'apply',
      new ApiException(422, 'Unprocessable Entity', JSON.stringify({ message: 'field is immutable' }), {}),
      'PersistentVolumeClaim',
    );
    expect(await w.reconcile()).toEqual({ requeueAfterMs: STALLED_RETRY_MS });
    expect(w.condition('DeploymentReady')).toMatchObject({
      reason: 'Rejected',
      message: `PersistentVolumeClaim ${NAME}-images: Kubernetes API HTTP 422: field is immutable`,
    });
    expect(w.condition('Stalled')?.reason).toBe('Rejected');
  });

  it('is Stalled/MigrationFailed when the migration Job failed, telling the person what to do', async () => {
    const w = new GlanceWorld();
    w.create();
    await w.reconcile();
    w.finishMigration('Failed');
    expect(await w.reconcile()).toEqual({ requeueAfterMs: STALLED_RETRY_MS });
    const job = w.jobs()[0]?.metadata?.name;
    expect(w.condition('DeploymentReady')).toMatchObject({
      status: 'False',
      reason: 'MigrationFailed',
      message: `Job ${job} failed: read its logs, fix the cause, then delete the Job to run it again`,
    });
    expect(w.condition('Stalled')?.reason).toBe('MigrationFailed');
    expect(w.deployment()?.spec?.paused).toBe(true);
    expect(w.events.find('MigrationFailed')?.type).toBe('Warning');
  });
});

describe("GlanceService reconciler: a keystone.authUrl outside the operator's URL policy", () => {
  it.each([
    ['the metadata address', 'http://169.254.169.254/v3', '169.254.169.254 port 80'],
    ['loopback', 'http://127.0.0.1:5000/v3', '127.0.0.1 port 5000'],
    ['a name resolving to link-local', 'http://metadata.test:5000/v3', 'metadata.test (169.254.169.254)'],
  ])(
    'is Stalled/EndpointNotAllowed for %s before any Secret is read or credential sent',
    async (_what, authUrl, named) => {
      const w = new GlanceWorld();
      const connects = [
        jest.spyOn(w.db, 'connect'),
        jest.spyOn(w.keystone, 'connect'),
        jest.spyOn(w.ceph, 'connect'),
      ];
      w.create(w.spec({ keystone: { authUrl, adminSecretRef: { name: 'keystone-admin' } } }));
      expect(await w.reconcile()).toEqual({ requeueAfterMs: STALLED_RETRY_MS });
      expect(w.condition('KeystoneReady')).toMatchObject({ status: 'False', reason: 'EndpointNotAllowed' });
      expect(w.condition('KeystoneReady')?.message).toContain(named);
      expect(w.condition('Stalled')).toMatchObject({ status: 'True', reason: 'EndpointNotAllowed' });
      for (const connect of connects) expect(connect).not.toHaveBeenCalled();
      expectNothingCreated(w);
    },
  );
});
