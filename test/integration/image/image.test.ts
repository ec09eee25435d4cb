import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import pino from 'pino';
import { IMAGE, type ImageObject } from '../../../operator/src/api/image-types.js';
import { CONTROLLER_NAME, FIELD_MANAGER } from '../../../operator/src/glance/names.js';
import { createImageController, type ImageController } from '../../../operator/src/image/image-controller.js';
import { EventRecorder } from '../../../operator/src/runtime/events.js';
import { KubeClient } from '../../../operator/src/runtime/kube-client.js';
import { createOperatorMetrics } from '../../../operator/src/runtime/operator-metrics.js';
import { adminTokenFromStack } from '../../harness/keystone.js';
import { loadStackEnv } from '../../harness/stack-env.js';
import {
  createNamespace,
  createSecret,
  eventsFor,
  installCrd,
  kubeConfig,
  suffix,
  testKube,
  waitFor,
} from '../operator/support.js';
import { serveBytes, SourceServer } from './source-server.js';

// The Image controller in this process, against the real kube-apiserver and both Glances of the stack: ours
// (RegionTwo) and upstream glance-api (RegionOne). Images come from a local HTTP server this test starts.
const env = loadStackEnv();
const ns = `image-op-${suffix()}`;
const OURS = { region: 'RegionTwo', url: env.API_URL ?? '' };
const UPSTREAM = { region: 'RegionOne', url: env.UPSTREAM_GLANCE_URL ?? '' };

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sha512 = (b: Buffer) => createHash('sha512').update(b).digest('hex');
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

// Made at test time: a raw disk of random bytes, the same as qcow2 (qemu-img), and compressed copies.
const work = mkdtempSync(path.join(tmpdir(), 'image-op-'));
const raw = randomBytes(3 * 1024 * 1024 + 4321);
writeFileSync(path.join(work, 'disk.raw'), raw);
execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', 'disk.raw', 'disk.qcow2'], { cwd: work });
const qcow2 = readFileSync(path.join(work, 'disk.qcow2'));
const qcow2Info = JSON.parse(
  execFileSync('qemu-img', ['info', '--output=json', 'disk.qcow2'], { cwd: work, encoding: 'utf8' }),
) as { 'virtual-size': number };
const rawGz = gzipSync(raw);
const qcow2Xz = execFileSync('xz', ['-c', '-0'], { input: qcow2, maxBuffer: 64 * 1024 * 1024 });
rmSync(work, { recursive: true, force: true });

const source = new SourceServer();
let gateOpen: () => void = () => undefined;
const gate = new Promise<void>((resolve) => (gateOpen = resolve));

let kube: KubeClient;
let images: ImageController;
let logs = '';

async function glance(base: string, method: string, p: string, body?: unknown) {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: {
      'X-Auth-Token': await adminTokenFromStack(),
      ...(body ? { 'Content-Type': 'application/openstack-images-v2.1-json-patch' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

async function glanceImage(base: string, id: string): Promise<Record<string, unknown> | undefined> {
  const res = await glance(base, 'GET', `/v2/images/${id}`);
  return res.status === 200 ? (JSON.parse(res.body.toString('utf8')) as Record<string, unknown>) : undefined;
}

async function applyImage(name: string, spec: Record<string, unknown>, target = OURS): Promise<void> {
  const body: KubernetesObject & { spec: object } = {
    apiVersion: 'glance.stackops.dev/v1alpha1',
    kind: 'Image',
    metadata: { name, namespace: ns },
    spec: {
      cloud: {
        authUrl: env.OS_AUTH_URL,
        region: target.region,
        credentialsSecretRef: { name: 'cloud' },
      },
      ...spec,
    },
  };
  await kube.objects.patch(body, undefined, undefined, 'image-tests', true, PatchStrategy.ServerSideApply);
}

const getImage = (name: string) => kube.getCustom<ImageObject>(IMAGE, ns, name);
const conditionOf = (obj: ImageObject | undefined, type: string) =>
  obj?.status?.conditions?.find((c) => c.type === type);

function waitForPhase(name: string, phase: string, timeoutMs = 150_000): Promise<ImageObject> {
  return waitFor(
    `Image ${name} to be ${phase}`,
    async () => {
      const obj = await getImage(name);
      return obj?.status?.phase === phase && obj.status.observedGeneration === obj.metadata.generation && obj;
    },
    timeoutMs,
  );
}

/** What a user checks: the stored bytes are the source's, and Glance's hashes say so too. */
async function expectStored(base: string, obj: ImageObject, expected: Buffer): Promise<void> {
  const id = obj.status?.imageID ?? '';
  const data = await glance(base, 'GET', `/v2/images/${id}/file`);
  expect(data.status).toBe(200);
  expect(sha256(data.body)).toBe(sha256(expected));
  const img = await glanceImage(base, id);
  expect(img).toMatchObject({
    status: 'active',
    size: expected.length,
    checksum: md5(expected),
    os_hash_algo: 'sha512',
    os_hash_value: sha512(expected),
  });
  expect(obj.status).toMatchObject({
    size: expected.length,
    checksum: md5(expected),
    osHashAlgo: 'sha512',
    osHashValue: sha512(expected),
  });
  expect(conditionOf(obj, 'Ready')).toMatchObject({
    status: 'True',
    observedGeneration: obj.metadata.generation,
  });
  expect(conditionOf(obj, 'Stalled')).toBeUndefined();
  expect(conditionOf(obj, 'Reconciling')).toBeUndefined();
}

beforeAll(async () => {
  kube = testKube();
  await installCrd(kube);
  await createNamespace(kube, ns);
  await createSecret(kube, ns, 'cloud', {
    username: env.OS_USERNAME ?? '',
    password: env.OS_PASSWORD ?? '',
    project: env.OS_PROJECT_NAME ?? '',
  });
  await source.start();
  source.route('/disk.qcow2', serveBytes(qcow2));
  source.route('/disk.raw.gz', serveBytes(rawGz));
  source.route('/disk.qcow2.xz', serveBytes(qcow2Xz));
  source.route('/drops.qcow2', serveBytes(qcow2, { dropFirstAt: 1024 * 1024 }));
  source.route('/drops-no-range.raw', serveBytes(raw, { ranges: false, dropFirstAt: 1024 * 1024 }));
  source.route('/slow.raw', serveBytes(raw, { holdAt: 1024 * 1024, gate }));
  source.route('/moved', (_req, res) => res.writeHead(302, { Location: '/disk.qcow2' }).end());
  source.route('/SHA256SUMS', (_req, res) =>
    res.end(`${sha256(qcow2Xz)}  disk.qcow2.xz\n${sha256(rawGz)}  disk.raw.gz\n`),
  );

  const metrics = createOperatorMetrics();
  const log = pino(
    { level: 'debug' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs += chunk.toString('utf8');
        done();
      },
    }),
  );
  const operatorKube = new KubeClient(kubeConfig(), metrics, FIELD_MANAGER);
  images = createImageController({
    kube: operatorKube,
    events: new EventRecorder(operatorKube, CONTROLLER_NAME, `test-${process.pid}`, log),
    metrics,
    log,
    namespace: ns,
    resyncMs: 2000,
    stalledRetryMs: 3000,
    maxTransfers: 3,
    progressMs: 300,
    retryBaseMs: 500,
    backoff: { baseMs: 500, maxMs: 5000 },
  });
  await images.controller.start();

  const qcow2Spec = (url: string, extra: object = {}) => ({
    diskFormat: 'qcow2',
    source: { url, checksum: `sha256:${sha256(qcow2)}`, ...extra },
  });
  await Promise.all([
    applyImage('checked', {
      ...qcow2Spec(source.url('/disk.qcow2')),
      tags: ['cirros', 'test'],
      properties: { hw_disk_bus: 'virtio', os_distro: 'cirros' },
    }),
    applyImage('upstream', qcow2Spec(source.url('/disk.qcow2')), UPSTREAM),
    applyImage('gz', {
      diskFormat: 'raw',
      source: { url: source.url('/disk.raw.gz'), checksum: `sha256:${sha256(rawGz)}` },
    }),
    applyImage('xz', {
      diskFormat: 'qcow2',
      source: { url: source.url('/disk.qcow2.xz'), checksumURL: source.url('/SHA256SUMS') },
    }),
    applyImage('resumed', qcow2Spec(source.url('/drops.qcow2'))),
    applyImage('no-range', { diskFormat: 'raw', source: { url: source.url('/drops-no-range.raw') } }),
    applyImage('redirected', qcow2Spec(source.url('/moved'))),
    applyImage('missing', qcow2Spec(source.url('/nothing-here.qcow2'))),
    applyImage('wrong-sum', {
      diskFormat: 'qcow2',
      source: { url: source.url('/disk.qcow2'), checksum: `sha256:${sha256(raw)}` },
    }),
    applyImage('wrong-format', { diskFormat: 'raw', source: { url: source.url('/disk.qcow2') } }),
  ]);
});

afterAll(async () => {
  gateOpen();
  // Deleting through the operator (deletionPolicy Delete) also removes the Glance images these tests made.
  const list = (await kube.custom.listNamespacedCustomObject({ ...IMAGE, namespace: ns })) as {
    items: ImageObject[];
  };
  for (const obj of list.items)
    await kube.custom.deleteNamespacedCustomObject({ ...IMAGE, namespace: ns, name: obj.metadata.name });
  await waitFor(
    'the Images to be finalized',
    async () => {
      const left = (await kube.custom.listNamespacedCustomObject({ ...IMAGE, namespace: ns })) as {
        items: unknown[];
      };
      return left.items.length === 0;
    },
    60_000,
  ).catch(() => undefined);
  await images?.stop();
  await source.stop();
  await kube.core.deleteNamespace({ name: ns }).catch(() => undefined);
});

describe('Image: uploads', () => {
  it('uploads a qcow2 whose checksum matches, into our Glance, with the declared metadata', async () => {
    const obj = await waitForPhase('checked', 'Ready');
    await expectStored(OURS.url, obj, qcow2);
    expect(obj.status?.sourceDigest).toBe(`sha256:${sha256(qcow2)}`);
    expect(obj.status?.virtualSize).toBe(qcow2Info['virtual-size']);
    expect(obj.status?.method).toBe('upload');
    const img = await glanceImage(OURS.url, obj.status?.imageID ?? '');
    expect(img).toMatchObject({
      name: 'checked',
      disk_format: 'qcow2',
      hw_disk_bus: 'virtio',
      os_distro: 'cirros',
    });
    expect((img?.tags as string[]).sort()).toEqual(['cirros', 'test']);
  });

  it('does the same against upstream glance-api', async () => {
    const obj = await waitForPhase('upstream', 'Ready');
    await expectStored(UPSTREAM.url, obj, qcow2);
  });

  it('decompresses gz and xz on the fly, checking the checksum (given, or from a SHA256SUMS file) on the compressed bytes', async () => {
    await expectStored(OURS.url, await waitForPhase('gz', 'Ready'), raw);
    const xz = await waitForPhase('xz', 'Ready');
    await expectStored(OURS.url, xz, qcow2);
    expect(xz.status?.sourceDigest).toBe(`sha256:${sha256(qcow2Xz)}`);
  });

  it('resumes a dropped connection with a Range request, not from zero', async () => {
    const obj = await waitForPhase('resumed', 'Ready');
    await expectStored(OURS.url, obj, qcow2);
    expect(source.requests('/drops.qcow2')).toEqual(['', `bytes=${1024 * 1024}-`]);
    expect(obj.status?.attempts).toBe(1);
  });

  it('starts again from zero, in a new attempt, when the source cannot resume', async () => {
    const obj = await waitForPhase('no-range', 'Ready');
    await expectStored(OURS.url, obj, raw);
    expect(source.requests('/drops-no-range.raw')).toEqual(['', `bytes=${1024 * 1024}-`, '']);
    expect(obj.status?.attempts).toBe(2);
  });

  it('follows a redirect', async () => {
    await expectStored(OURS.url, await waitForPhase('redirected', 'Ready'), qcow2);
  });

  it('shows progress while the transfer runs', async () => {
    await applyImage('slow', { diskFormat: 'raw', source: { url: source.url('/slow.raw') } });
    const during = await waitFor('progress of the held transfer', async () => {
      const obj = await getImage('slow');
      return obj?.status?.phase === 'Uploading' && (obj.status.progress?.bytes ?? 0) >= 1024 * 1024 && obj;
    });
    expect(during.status?.progress).toEqual({ bytes: 1024 * 1024, total: raw.length, percent: 33 });
    expect(conditionOf(during, 'Reconciling')?.status).toBe('True');
    expect(conditionOf(during, 'Ready')?.status).toBe('False');
    gateOpen();
    const done = await waitForPhase('slow', 'Ready');
    expect(done.status?.progress).toEqual({ bytes: raw.length, total: raw.length, percent: 100 });
    await expectStored(OURS.url, done, raw);
  });
});

describe('Image: terminal failures stall at once and leave no data', () => {
  it.each([
    ['missing', 'SourceRefused', /answered HTTP 404/],
    ['wrong-sum', 'ChecksumMismatch', /sha256 of the source is/],
    ['wrong-format', 'FormatMismatch', /the data is qcow2, but diskFormat is raw/],
  ])('%s → Stalled (%s)', async (name, reason, message) => {
    const obj = await waitForPhase(name, 'Failed');
    expect(conditionOf(obj, 'Stalled')).toMatchObject({
      status: 'True',
      reason,
      observedGeneration: obj.metadata.generation,
    });
    expect(conditionOf(obj, 'Stalled')?.message).toMatch(message);
    expect(conditionOf(obj, 'Ready')).toMatchObject({ status: 'False', reason });
    expect(obj.status?.attempts).toBe(1);
    const img = await glanceImage(OURS.url, obj.status?.imageID ?? '');
    expect(img).toMatchObject({ status: 'queued', size: null });
    const events = await eventsFor(kube, ns, name);
    expect(events.some((e) => e.type === 'Warning' && e.reason === reason)).toBe(true);
  });

  it('tries again when the retry annotation changes', async () => {
    await waitForPhase('missing', 'Failed');
    source.route('/nothing-here.qcow2', serveBytes(qcow2));
    await kube.mergePatchCustom(IMAGE, ns, 'missing', {
      metadata: { annotations: { 'glance.stackops.dev/retry': '1' } },
    });
    const obj = await waitForPhase('missing', 'Ready');
    await expectStored(OURS.url, obj, qcow2);
    expect(obj.status?.attempts).toBe(2);
  });
});

describe('Image: the CRD refuses what cannot work', () => {
  it.each([
    [{ glanceServiceRef: { name: 'glance' } }, 'set exactly one of glanceServiceRef and cloud'],
    [
      {
        source: { url: 'http://x/a.img', checksum: `md5:${'0'.repeat(32)}`, checksumURL: 'http://x/MD5SUMS' },
      },
      'set checksum or checksumURL, not both',
    ],
    [{ source: { url: 'http://x/a.img', importMethod: 'WebDownload' } }, 'WebDownload cannot'],
  ])('%# at apply time (CEL)', async (extra, message) => {
    const applied = applyImage('refused', {
      diskFormat: 'qcow2',
      source: { url: 'http://x/a.img' },
      ...extra,
    });
    await expect(applied).rejects.toMatchObject({
      code: 422,
      body: expect.stringContaining(message) as unknown,
    });
  });
});

describe('Image: drift and deletion', () => {
  it('puts back metadata changed by hand and leaves server-owned os_* properties alone', async () => {
    const obj = await waitForPhase('checked', 'Ready');
    const id = obj.status?.imageID ?? '';
    const patched = await glance(OURS.url, 'PATCH', `/v2/images/${id}`, [
      { op: 'replace', path: '/name', value: 'renamed-by-hand' },
      { op: 'add', path: '/added_by_hand', value: 'x' },
      { op: 'remove', path: '/hw_disk_bus' },
      { op: 'replace', path: '/tags', value: ['cirros', 'extra'] },
      { op: 'add', path: '/os_type', value: 'linux' },
    ]);
    expect(patched.status).toBe(200);
    const repaired = await waitFor('the metadata to be put back', async () => {
      const img = await glanceImage(OURS.url, id);
      return img?.name === 'checked' && !('added_by_hand' in img) && img;
    });
    expect(repaired).toMatchObject({ hw_disk_bus: 'virtio', os_distro: 'cirros', os_type: 'linux' });
    expect((repaired.tags as string[]).sort()).toEqual(['cirros', 'test']);
    const events = await eventsFor(kube, ns, 'checked');
    expect(events.some((e) => e.reason === 'DriftRepaired')).toBe(true);
  });

  it('uploads again an image deleted by hand', async () => {
    const before = await waitForPhase('redirected', 'Ready');
    const oldId = before.status?.imageID ?? '';
    expect((await glance(OURS.url, 'DELETE', `/v2/images/${oldId}`)).status).toBe(204);
    const after = await waitFor('a new image', async () => {
      const obj = await getImage('redirected');
      return obj?.status?.phase === 'Ready' && obj.status.imageID !== oldId && obj;
    });
    await expectStored(OURS.url, after, qcow2);
  });

  it('deletes the Glance image with the Image (Delete), and leaves it (Orphan)', async () => {
    await applyImage('orphaned', {
      diskFormat: 'qcow2',
      deletionPolicy: 'Orphan',
      source: { url: source.url('/disk.qcow2') },
    });
    const kept = await waitForPhase('orphaned', 'Ready');
    const deleted = await waitForPhase('gz', 'Ready');
    for (const name of ['orphaned', 'gz']) {
      await kube.custom.deleteNamespacedCustomObject({ ...IMAGE, namespace: ns, name });
    }
    await waitFor(
      'both Images to be gone',
      async () => !(await getImage('orphaned')) && !(await getImage('gz')),
    );
    expect(await glanceImage(OURS.url, deleted.status?.imageID ?? '')).toBeUndefined();
    const orphan = await glanceImage(OURS.url, kept.status?.imageID ?? '');
    expect(orphan).toMatchObject({ status: 'active', size: qcow2.length });
    await glance(OURS.url, 'DELETE', `/v2/images/${kept.status?.imageID}`);
  });
});

it('never logs the Keystone password or a token', async () => {
  await waitForPhase('checked', 'Ready');
  expect(logs).toContain('transfer started');
  expect(logs).not.toContain(env.OS_PASSWORD ?? '<none>');
  expect(logs).not.toContain(await adminTokenFromStack());
});
