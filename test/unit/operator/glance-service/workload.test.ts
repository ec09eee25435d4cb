import type { V1Deployment } from '@kubernetes/client-node';
import {
  parseGlanceServiceSpec,
  type GlanceService,
  type GlanceServiceSpec,
} from '../../../../operator/src/api/glance-service-types.js';
import { hasAllPrivileges } from '../../../../operator/src/glance-service/database.js';
import { glanceCaps, keyringSecretData } from '../../../../operator/src/glance-service/ceph.js';
import { endpointUrls } from '../../../../operator/src/glance-service/keystone.js';
import {
  apiDeployment,
  dbSyncJob,
  deploymentReadiness,
  imagesClaim,
  jobState,
  migrationHash,
} from '../../../../operator/src/glance-service/workload.js';
import { isSubset } from '../../../../operator/src/runtime/subset.js';

const gs: GlanceService = {
  apiVersion: 'glance.stackops.dev/v1alpha1',
  kind: 'GlanceService',
  metadata: { name: 'images', namespace: 'openstack', uid: 'u-1', generation: 1 },
};

function spec(extra: object = {}): GlanceServiceSpec {
  const parsed = parseGlanceServiceSpec({
    image: 'glance-api:1',
    database: { host: 'db', adminSecretRef: { name: 'a' } },
    keystone: { authUrl: 'http://ks:5000/v3', adminSecretRef: { name: 'b' } },
    ...extra,
  });
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed.spec;
}

const rbd = {
  ceph: { monHost: '[v2:10.0.0.1:3300]', adminSecretRef: { name: 'c' }, user: 'glance' },
  store: { backends: ['rbd'] },
};

describe('the API Deployment', () => {
  it('carries the config hash on the pod template, so a new config rolls the pods', () => {
    const a = apiDeployment(gs, spec(), { configHash: 'h1', paused: false });
    const b = apiDeployment(gs, spec(), { configHash: 'h2', paused: false });
    expect(a.spec?.template.metadata?.annotations?.['glance.stackops.dev/config-hash']).toBe('h1');
    expect(b.spec?.template.metadata?.annotations?.['glance.stackops.dev/config-hash']).toBe('h2');
    expect(a.metadata.ownerReferences?.[0]).toMatchObject({
      kind: 'GlanceService',
      uid: 'u-1',
      controller: true,
    });
  });

  it('keeps a replaced pod serving until its endpoint is gone, then gives the server time to drain', () => {
    const pod = apiDeployment(gs, spec(), { configHash: 'h', paused: false }).spec?.template.spec;
    const wait = pod?.containers[0]?.lifecycle?.preStop?.sleep?.seconds ?? 0;
    expect(wait).toBeGreaterThanOrEqual(3);
    // The api-server drains in-flight requests for up to 60 s (--shutdown-timeout) after SIGTERM.
    expect(pod?.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(wait + 60);
  });

  it('is paused while the migration is pending and omits `paused` otherwise', () => {
    expect(apiDeployment(gs, spec(), { configHash: 'h', paused: true }).spec?.paused).toBe(true);
    expect(apiDeployment(gs, spec(), { configHash: 'h', paused: false }).spec).not.toHaveProperty('paused');
  });

  it('mounts the config, the images claim for file, and the Ceph client files for rbd', () => {
    const file = apiDeployment(gs, spec(), { configHash: 'h', paused: false }).spec?.template.spec;
    expect(file?.volumes?.map((v) => v.name)).toEqual(['config', 'images']);
    expect(file?.volumes?.[1]?.persistentVolumeClaim?.claimName).toBe('images-images');
    const ceph = apiDeployment(gs, spec(rbd), { configHash: 'h', paused: false }).spec?.template.spec;
    expect(ceph?.volumes?.map((v) => v.name)).toEqual(['config', 'ceph']);
    expect(ceph?.volumes?.[1]?.secret?.items?.map((i) => i.path)).toEqual([
      'ceph.conf',
      'ceph.client.glance.keyring',
    ]);
    expect(ceph?.containers[0]?.volumeMounts?.map((m) => m.mountPath)).toEqual(['/etc/glance', '/etc/ceph']);
    expect(ceph?.containers[0]?.args).toEqual(['--config-file', '/etc/glance/glance-api.conf']);
  });
});

describe('the migration Job', () => {
  it('is named after what needs migrating: the image and the database, not passwords', () => {
    const base = spec();
    expect(migrationHash(spec({ database: { host: 'db', adminSecretRef: { name: 'other' } } }))).toBe(
      migrationHash(base),
    );
    expect(migrationHash(spec({ image: 'glance-api:2' }))).not.toBe(migrationHash(base));
    const job = dbSyncJob(gs, base);
    expect(job.metadata.name).toBe(`images-db-sync-${migrationHash(base)}`);
    expect(job.spec?.template.spec?.containers[0]?.args?.[0]).toBe('db-sync');
  });

  it.each([
    [{}, 'running'],
    [{ succeeded: 1 }, 'succeeded'],
    [{ conditions: [{ type: 'Complete', status: 'True' }] }, 'succeeded'],
    [{ conditions: [{ type: 'Failed', status: 'True' }] }, 'failed'],
  ])('reads Job status %j as %s', (status, state) => {
    expect(jobState({ status } as never)).toBe(state);
  });
});

describe('DeploymentReady', () => {
  const dep = (status: V1Deployment['status'], generation = 2): V1Deployment => ({
    metadata: { generation },
    status,
  });

  it('waits for the migration, then for the rollout, then is ready', () => {
    const s = spec({ replicas: 2, store: { backends: ['file'], file: { accessMode: 'ReadWriteMany' } } });
    expect(deploymentReadiness(s, 'j', 'running', undefined)).toMatchObject({
      status: 'False',
      reason: 'MigrationPending',
    });
    expect(() => deploymentReadiness(s, 'j', 'failed', undefined)).toThrow(
      expect.objectContaining({ name: 'TerminalError', reason: 'MigrationFailed' }),
    );
    expect(deploymentReadiness(s, 'j', 'succeeded', dep({ observedGeneration: 1 }))).toMatchObject({
      reason: 'RollingOut',
    });
    expect(
      deploymentReadiness(
        s,
        'j',
        'succeeded',
        dep({ observedGeneration: 2, updatedReplicas: 2, availableReplicas: 1 }),
      ),
    ).toMatchObject({ status: 'False', message: '1/2 replicas updated and available' });
    expect(
      deploymentReadiness(
        s,
        'j',
        'succeeded',
        dep({ observedGeneration: 2, updatedReplicas: 2, availableReplicas: 2 }),
      ),
    ).toMatchObject({ status: 'True', reason: 'Available' });
  });
});

describe('the pieces the actuators compare', () => {
  it('asks for the install guide caps and writes both the Rook and the mountable keyring layouts', () => {
    expect(glanceCaps('images')).toEqual({
      mon: 'allow r',
      osd: 'allow class-read object_prefix rbd_children, allow rwx pool=images',
    });
    const c = spec(rbd).ceph;
    if (!c) throw new Error('no ceph');
    expect(keyringSecretData(c, 'fsid-1', 'AQkey==')).toEqual({
      userID: 'glance',
      userKey: 'AQkey==',
      'ceph.client.glance.keyring': '[client.glance]\n\tkey = AQkey==\n',
      'ceph.conf': '[global]\nfsid = fsid-1\nmon_host = [v2:10.0.0.1:3300]\n',
    });
  });

  it('recognises ALL PRIVILEGES on the database in SHOW GRANTS, and nothing less', () => {
    const grants = [
      "GRANT USAGE ON *.* TO `glance`@`%` IDENTIFIED BY PASSWORD '*AB'",
      'GRANT ALL PRIVILEGES ON `glance`.* TO `glance`@`%`',
    ];
    expect(hasAllPrivileges(grants, 'glance', 'glance', '%')).toBe(true);
    expect(hasAllPrivileges(grants, 'glance', 'glance', 'localhost')).toBe(false);
    expect(hasAllPrivileges(['GRANT SELECT ON `glance`.* TO `glance`@`%`'], 'glance', 'glance', '%')).toBe(
      false,
    );
  });

  it('defaults every endpoint to the Service URL', () => {
    expect(endpointUrls(gs, spec({ endpoints: { public: 'https://images.example.com' } }))).toEqual({
      public: 'https://images.example.com',
      internal: 'http://images-api.openstack.svc:9292',
      admin: 'http://images-api.openstack.svc:9292',
    });
  });

  it('gives the images claim no owner, so deletionPolicy decides its fate', () => {
    const claim = imagesClaim(gs, spec());
    expect(claim.metadata).not.toHaveProperty('ownerReferences');
    expect(claim.spec).toEqual({
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '10Gi' } },
    });
  });

  it('treats an object as unchanged when the server only added fields', () => {
    const desired = { spec: { replicas: 1, ports: [{ port: 9292 }] } };
    expect(
      isSubset(desired, { spec: { replicas: 1, ports: [{ port: 9292, protocol: 'TCP' }], extra: 1 } }),
    ).toBe(true);
    expect(isSubset(desired, { spec: { replicas: 2, ports: [{ port: 9292 }] } })).toBe(false);
    expect(isSubset(desired, { spec: { replicas: 1, ports: [{ port: 9292 }, { port: 1 }] } })).toBe(false);
  });
});
