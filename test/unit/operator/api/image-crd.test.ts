import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { IMAGE_CRD_FILE, imageCrd } from '../../../../operator/src/api/image-crd.js';
import { deletionPolicyOf, parseImageSpec } from '../../../../operator/src/api/image-types.js';

const minimal = {
  glanceServiceRef: { name: 'glance' },
  diskFormat: 'qcow2',
  source: { url: 'https://download.cirros-cloud.net/0.6.2/cirros-0.6.2-x86_64-disk.img' },
};

describe('Image CRD', () => {
  it(`is what ${IMAGE_CRD_FILE} holds (run \`npm run gen:crds\` after changing operator/src/api/)`, () => {
    const onDisk: unknown = parse(
      readFileSync(new URL(`../../../../${IMAGE_CRD_FILE}`, import.meta.url), 'utf8'),
    );
    expect(onDisk).toEqual(imageCrd());
  });

  it('shows phase, progress, size, image id and age, and has a short name', () => {
    const crd = imageCrd();
    const columns = crd.spec.versions[0]?.additionalPrinterColumns.filter((c) => !('priority' in c));
    expect(columns?.map((c) => c.name)).toEqual(['Phase', 'Progress', 'Size', 'Image ID', 'Age']);
    expect(crd.spec.names.shortNames).toEqual(['gimg']);
  });

  it('carries the cross-field rules as CEL', () => {
    const spec = imageCrd().spec.versions[0]?.schema.openAPIV3Schema.properties.spec as unknown as {
      'x-kubernetes-validations': Array<{ rule: string }>;
      properties: { source: { 'x-kubernetes-validations': Array<{ rule: string }> } };
    };
    expect(spec['x-kubernetes-validations'].map((r) => r.rule)).toContain(
      'has(self.glanceServiceRef) != has(self.cloud)',
    );
    expect(spec.properties.source['x-kubernetes-validations']).toHaveLength(2);
  });
});

describe('Image spec validation', () => {
  it('fills in the defaults', () => {
    const parsed = parseImageSpec(minimal);
    if ('error' in parsed) throw new Error(parsed.error);
    expect(parsed.spec).toMatchObject({
      containerFormat: 'bare',
      visibility: 'private',
      glanceServiceRef: { interface: 'internal' },
      source: { decompress: 'auto', importMethod: 'Auto', retries: 5 },
    });
  });

  it.each([
    [
      { ...minimal, cloud: { authUrl: 'http://k:5000/v3', credentialsSecretRef: { name: 'c' } } },
      'exactly one',
    ],
    [{ ...minimal, source: { ...minimal.source, checksum: 'sha256:abc' } }, 'spec.source.checksum'],
    [
      {
        ...minimal,
        source: { ...minimal.source, checksum: `md5:${'0'.repeat(32)}`, checksumURL: 'http://x/MD5SUMS' },
      },
      'not both',
    ],
    [{ ...minimal, source: { ...minimal.source, importMethod: 'WebDownload' } }, 'WebDownload cannot'],
    [{ ...minimal, properties: { os_hash_value: 'x' } }, 'spec.properties.os_hash_value: is reserved'],
    [
      { ...minimal, properties: { glance_operator_image_uid: 'another-image' } },
      'spec.properties.glance_operator_image_uid: is reserved by the operator',
    ],
    [{ ...minimal, diskFormat: 'exe' }, 'spec.diskFormat'],
    [{ ...minimal, adopt: {} }, 'spec.adopt'],
  ])('names the offending field: %#', (spec, message) => {
    const parsed = parseImageSpec(spec);
    expect('error' in parsed && parsed.error).toContain(message);
  });
});

describe('Image deletionPolicy', () => {
  const policy = (spec: object) => {
    const parsed = parseImageSpec({ ...minimal, ...spec });
    if ('error' in parsed) throw new Error(parsed.error);
    return deletionPolicyOf(parsed.spec);
  };

  it('defaults to Delete, and to Orphan for an Image that adopts; set explicitly, it is what it says', () => {
    const adopt = { adopt: { byName: true } };
    expect(policy({})).toBe('Delete');
    expect(policy(adopt)).toBe('Orphan');
    expect(policy({ ...adopt, deletionPolicy: 'Delete' })).toBe('Delete');
    expect(policy({ deletionPolicy: 'Orphan' })).toBe('Orphan');
  });

  it('has no default in the CRD, so that the adopt default applies', () => {
    const spec = imageCrd().spec.versions[0]?.schema.openAPIV3Schema.properties.spec as unknown as {
      properties: { deletionPolicy: { default?: unknown } };
    };
    expect(spec.properties.deletionPolicy.default).toBeUndefined();
  });
});
