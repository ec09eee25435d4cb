import { readFileSync } from 'node:fs';
import {
  OPERATOR_ACCESS_LABEL,
  parseGlanceServiceSpec,
} from '../../../operator/src/api/glance-service-types.js';
import { parseImageSpec } from '../../../operator/src/api/image-types.js';
import {
  demoGlanceService,
  demoImage,
  parseSample,
  type DemoSettings,
} from '../../harness/demo/manifests.js';

const sample = (file: string) =>
  parseSample(readFileSync(new URL(`../../../samples/${file}`, import.meta.url), 'utf8'));

const settings: DemoSettings = {
  namespace: 'glance-demo',
  apiUrl: 'http://172.30.255.2:30292',
  containerImage: 'localhost/glance-operator:0123456789ab',
  region: 'RegionDemo',
  db: { host: '127.0.0.1', port: 3306, adminUser: 'stackadmin', adminPassword: 'db-secret' },
  keystone: { authUrl: 'http://127.0.0.1:5000/v3', adminUser: 'admin', adminPassword: 'ks-secret' },
  ceph: { monHost: '[v2:127.0.0.1:3300,v1:127.0.0.1:6789]', adminKeyring: '[client.admin]\n\tkey = AQ==\n' },
  image: { url: 'http://127.0.0.1:40000/cirros-demo.qcow2', checksum: `sha256:${'a'.repeat(64)}` },
};

describe('the demo made from samples/', () => {
  const objects = demoGlanceService(sample('glanceservice.yaml'), settings);
  const gs = objects.find((o) => o.kind === 'GlanceService');

  it('fills every Secret of the sample with the stack credentials, leaving no CHANGE-ME', () => {
    const secrets = objects.filter((o) => o.kind === 'Secret');
    expect(secrets.map((s) => s.metadata.name).sort()).toEqual(['ceph-admin', 'db-admin', 'keystone-admin']);
    // The operator reads no Secret without it.
    for (const s of secrets) expect(s.metadata.labels).toEqual({ [OPERATOR_ACCESS_LABEL]: 'true' });
    expect(JSON.stringify(objects)).not.toContain('CHANGE-ME');
    expect(objects.every((o) => o.metadata.namespace === 'glance-demo')).toBe(true);
  });

  it('gives the GlanceService names of its own, never the stack Glance user, service, region or pool', () => {
    const parsed = parseGlanceServiceSpec(gs?.spec);
    if ('error' in parsed) throw new Error(parsed.error);
    const { spec } = parsed;
    expect(spec.keystone.region).toBe('RegionDemo');
    expect(spec.keystone.userName).not.toBe('glance');
    expect(spec.keystone.serviceName).not.toBe('glance');
    expect(spec.database.name).not.toBe('glance');
    expect(spec.ceph?.pool).not.toBe('images');
    expect(spec.endpoints).toEqual({ public: settings.apiUrl });
    expect(spec.image).toBe(settings.containerImage);
    expect(spec.imagePullPolicy).toBe('Never');
    // What the sample chose stays: its store and its admin Secret references.
    expect(spec.store.backends).toEqual(parseSpecOf(sample('glanceservice.yaml')).store.backends);
    expect(spec.database.adminSecretRef.name).toBe('db-admin');
  });

  it('points the sample Image, which names the real CirrOS, at the local file and its digest', () => {
    const original = sample('image.yaml').find((o) => o.kind === 'Image');
    expect(JSON.stringify(original?.spec)).toContain('download.cirros-cloud.net');
    const image = demoImage(sample('image.yaml'), settings).find((o) => o.kind === 'Image');
    const parsed = parseImageSpec(image?.spec);
    if ('error' in parsed) throw new Error(parsed.error);
    expect(parsed.spec.source).toMatchObject({ url: settings.image.url, checksum: settings.image.checksum });
    expect(parsed.spec.source.checksumURL).toBeUndefined();
    expect(parsed.spec.glanceServiceRef?.name).toBe(gs?.metadata.name);
  });
});

function parseSpecOf(objects: ReturnType<typeof sample>) {
  const parsed = parseGlanceServiceSpec(objects.find((o) => o.kind === 'GlanceService')?.spec);
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed.spec;
}
