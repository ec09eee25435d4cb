import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { kubectl, parseManifests } from './tools.js';
import { createNamespace, deleteNamespace, suffix, testKube } from '../operator/support.js';
import type { KubeApiClient } from '../../../operator/src/runtime/kube-client.js';

// crds/ applied to the real kube-apiserver as a user would (kubectl), then manifests it must refuse.
const CRDS = new URL('../../../crds/', import.meta.url).pathname;
const ns = `glance-crds-${suffix()}`;
let kube: KubeApiClient;
let dir = '';

beforeAll(async () => {
  kube = testKube();
  dir = mkdtempSync(path.join(tmpdir(), 'glance-crds-'));
  await createNamespace(kube, ns);
});
afterAll(async () => {
  if (kube) await deleteNamespace(kube, ns);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `kubectl apply --dry-run=server` of one object in the test namespace: what a user would see. */
async function dryRun(obj: object) {
  const file = path.join(dir, `${suffix()}.yaml`);
  writeFileSync(file, stringify(obj));
  return kubectl('apply', '--server-side', '--dry-run=server', '-n', ns, '-f', file);
}

const glanceService = (spec: Record<string, unknown>) => ({
  apiVersion: 'glance.stackops.dev/v1alpha1',
  kind: 'GlanceService',
  metadata: { name: 'g' },
  spec: {
    image: 'registry.example.com/glance-operator:0.1.0',
    database: { host: 'db', adminSecretRef: { name: 'db-admin' } },
    keystone: { authUrl: 'http://keystone:5000/v3', adminSecretRef: { name: 'ks-admin' } },
    ...spec,
  },
});
const image = (spec: Record<string, unknown>) => ({
  apiVersion: 'glance.stackops.dev/v1alpha1',
  kind: 'Image',
  metadata: { name: 'i' },
  spec: {
    glanceServiceRef: { name: 'glance' },
    diskFormat: 'qcow2',
    source: { url: 'http://images.example.com/cirros.img' },
    ...spec,
  },
});

describe('the CRDs of crds/ on the real kube-apiserver', () => {
  it('apply and become Established', async () => {
    const files = readdirSync(CRDS).filter((f) => f.endsWith('.yaml'));
    for (const file of files) {
      const res = await kubectl('apply', '--server-side', '--force-conflicts', '-f', path.join(CRDS, file));
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
    }
    const names = files.map(
      (f) => parseManifests(readFileSync(path.join(CRDS, f), 'utf8'))[0]?.metadata.name,
    );
    const res = await kubectl(
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      ...names.map((n) => `crd/${n}`),
    );
    expect(res.code).toBe(0);
  });

  it('accept a minimal GlanceService and Image', async () => {
    expect((await dryRun(glanceService({}))).stdout).toContain('serverside-applied (server dry run)');
    expect((await dryRun(image({}))).stdout).toContain('serverside-applied (server dry run)');
  });

  it.each([
    ['a GlanceService without an image', glanceService({ image: undefined }), /spec\.image: Required value/],
    [
      'an unknown deletionPolicy',
      glanceService({ deletionPolicy: 'Shred' }),
      /spec\.deletionPolicy: Unsupported value: "Shred": supported values: "Retain", "Delete"/,
    ],
    [
      'replicas as a word',
      glanceService({ replicas: 'two' }),
      /spec\.replicas: expected numeric \(int or float\), got string/,
    ],
    [
      'an Image with both a GlanceService and a cloud',
      image({ cloud: { authUrl: 'http://keystone:5000/v3', credentialsSecretRef: { name: 'c' } } }),
      /set exactly one of glanceServiceRef and cloud/,
    ],
    [
      'an Image checksum in no known form',
      image({ source: { url: 'http://images.example.com/c.img', checksum: 'abc' } }),
      /spec\.source\.checksum: Invalid value: "abc"/,
    ],
    [
      'an unknown disk format',
      image({ diskFormat: 'floppy' }),
      /spec\.diskFormat: Unsupported value: "floppy"/,
    ],
  ])('refuse %s, saying why', async (_what, obj, message) => {
    const res = await dryRun(obj);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(message);
  });
});
