import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import pino from 'pino';
import { IMAGE, type ImageObject } from '../../../../operator/src/api/image-types.js';
import { CONTROLLER_NAME, FIELD_MANAGER } from '../../../../operator/src/api/operator-identity.js';
import {
  createImageController,
  type ImageController,
} from '../../../../operator/src/image/image-controller.js';
import { KubeEventRecorder } from '../../../../operator/src/runtime/events.js';
import { KubeApiClient } from '../../../../operator/src/runtime/kube-client.js';
import { createOperatorMetrics } from '../../../../operator/src/runtime/operator-metrics.js';
import { adminTokenFromStack } from '../../../harness/keystone.js';
import { loadStackEnv } from '../../../harness/stack-env.js';
import {
  createNamespace,
  createSecret,
  eventsFor,
  installCrd,
  kubeConfig,
  stackUrlPolicy,
  suffix,
  testKube,
  waitFor,
} from '../support.js';
import { glance, glanceImage } from './glance-user.js';
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
const compress = (tool: string, args: string[], input: Buffer) =>
  execFileSync(tool, args, { input, maxBuffer: 64 * 1024 * 1024 });
const qcow2Xz = compress('xz', ['-c', '-0'], qcow2);
const rawZst = compress('zstd', ['-c', '-q'], raw);
const qcow2Bz2 = compress('bzip2', ['-c', '-1'], qcow2);
rmSync(work, { recursive: true, force: true });
// Three versions of one declared image, for the source changes.
const versions = [randomBytes(700_000), randomBytes(800_000), randomBytes(900_000)];

const source = new SourceServer();
/** A promise the test resolves by hand, to hold a transfer half-way. */
function manualGate(): { wait: Promise<void>; open: () => void } {
  let open: () => void = () => undefined;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}
const slowGate = manualGate();
const replacementGate = manualGate();

/**
 * The operator's default policy refuses loopback: this suite's sources, the stack's Keystone and both Glances
 * are allowed by address and port.
 */
const sourcesAllowed = () => stackUrlPolicy([`127.0.0.1:${source.port}`]);

let kube: KubeApiClient;
let images: ImageController;
let logs = '';

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
  source.route('/slow.raw', serveBytes(raw, { holdAt: 1024 * 1024, gate: slowGate.wait }));
  source.route('/disk.raw.zst', serveBytes(rawZst));
  source.route('/disk.qcow2.bz2', serveBytes(qcow2Bz2));
  source.route('/plain.raw', serveBytes(raw));
  source.route('/v1.raw', serveBytes(versions[0] as Buffer));
  source.route('/v2.raw', serveBytes(versions[1] as Buffer, { holdAt: 300_000, gate: replacementGate.wait }));
  source.route('/v3.raw', serveBytes(versions[2] as Buffer));
  source.route('/moved', (_req, res) => res.writeHead(302, { Location: '/disk.qcow2' }).end());
  source.route('/to-metadata', (_req, res) =>
    res.writeHead(302, { Location: 'http://169.254.169.254/latest/meta-data/' }).end(),
  );
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
  const operatorKube = new KubeApiClient(kubeConfig(), metrics, FIELD_MANAGER);
  images = createImageController({
    kube: operatorKube,
    events: new KubeEventRecorder(operatorKube, CONTROLLER_NAME, `test-${process.pid}`, log),
    metrics,
    log,
    namespace: ns,
    resyncMs: 2000,
    stalledRetryMs: 3000,
    deletionTimeoutMs: 600_000,
    maxTransfers: 3,
    progressMs: 300,
    retryBaseMs: 500,
    backoff: { baseMs: 500, maxMs: 5000 },
    urlPolicy: sourcesAllowed(),
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
    applyImage('zst', {
      diskFormat: 'raw',
      source: { url: source.url('/disk.raw.zst'), checksum: `sha512:${sha512(rawZst)}` },
    }),
    applyImage('bz2', {
      diskFormat: 'qcow2',
      source: { url: source.url('/disk.qcow2.bz2'), checksum: `md5:${md5(qcow2Bz2)}` },
    }),
    // Nothing to verify: Auto asks Glance to fetch it, which the stack's api-server refuses (its
    // [import_filtering_opts] allows 127.0.0.1, but only Glance's default ports 80 and 443).
    applyImage('web-refused', {
      diskFormat: 'raw',
      source: { url: source.url('/plain.raw'), decompress: 'none' },
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
    applyImage('policy-port', qcow2Spec(`http://127.0.0.1:${source.port + 1}/disk.qcow2`)),
    applyImage('policy-name', qcow2Spec(`http://localhost:${source.port + 1}/disk.qcow2`)),
    applyImage('policy-metadata', qcow2Spec('http://169.254.169.254/latest/meta-data/')),
    applyImage('policy-redirect', qcow2Spec(source.url('/to-metadata'))),
  ]);
});

afterAll(async () => {
  slowGate.open();
  replacementGate.open();
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

  it('decompresses zst and bz2, detected from their magic bytes', async () => {
    const zst = await waitForPhase('zst', 'Ready');
    await expectStored(OURS.url, zst, raw);
    expect(zst.status?.sourceDigest).toBe(`sha512:${sha512(rawZst)}`);
    const bz2 = await waitForPhase('bz2', 'Ready');
    await expectStored(OURS.url, bz2, qcow2);
    expect(bz2.status?.virtualSize).toBe(qcow2Info['virtual-size']);
  });

  it('streams the data itself when Glance refuses to fetch the URL (web-download)', async () => {
    const obj = await waitForPhase('web-refused', 'Ready');
    await expectStored(OURS.url, obj, raw);
    expect(obj.status?.method).toBe('upload');
    expect(obj.status?.lastError).toBeUndefined();
    const events = await eventsFor(kube, ns, 'web-refused');
    const refused = events.find((e) => e.reason === 'WebDownloadRefused');
    expect(refused?.note).toMatch(/does not pass filtering/);
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
    slowGate.open();
    const done = await waitForPhase('slow', 'Ready');
    expect(done.status?.progress).toEqual({ bytes: raw.length, total: raw.length, percent: 100 });
    await expectStored(OURS.url, done, raw);
  });
});

describe("Image: sources outside the operator's URL policy", () => {
  it.each([
    ['policy-port', 'another port of an allowed address', '127.0.0.1 port'],
    ['policy-name', 'a name that resolves to loopback', 'localhost ('],
    ['policy-metadata', 'the cloud metadata address', '169.254.169.254'],
  ])('%s (%s) stalls SourceNotAllowed before anything is created in Glance', async (name, _what, address) => {
    const obj = await waitForPhase(name, 'Failed');
    expect(conditionOf(obj, 'Stalled')).toMatchObject({ status: 'True', reason: 'SourceNotAllowed' });
    expect(conditionOf(obj, 'Stalled')?.message).toContain(address);
    expect(obj.status?.imageID).toBeUndefined();
    const named = await glance(OURS.url, 'GET', `/v2/images?name=${name}`);
    expect((JSON.parse(named.body.toString('utf8')) as { images: unknown[] }).images).toEqual([]);
  });

  it('refuses a redirect to the metadata address at that hop, once, leaving the image without data', async () => {
    const obj = await waitForPhase('policy-redirect', 'Failed');
    expect(conditionOf(obj, 'Stalled')).toMatchObject({ status: 'True', reason: 'SourceNotAllowed' });
    expect(conditionOf(obj, 'Stalled')?.message).toContain('169.254.169.254');
    expect(source.requests('/to-metadata')).toHaveLength(1);
    expect(await glanceImage(OURS.url, obj.status?.imageID ?? '')).toMatchObject({
      status: 'queued',
      size: null,
    });
  });
});

describe("Image: a cloud's Keystone and Glance outside the operator's URL policy", () => {
  // Plays a Keystone and a Glance on a loopback port the policy does not allow, recording what reaches it.
  const trap = new SourceServer();
  beforeAll(() => trap.start());
  afterAll(() => trap.stop());

  /** The Image stalled on its endpoint, with nothing sent there and nothing created in Glance. */
  async function expectRefused(name: string, named: string): Promise<void> {
    const obj = await waitForPhase(name, 'Failed');
    expect(conditionOf(obj, 'Stalled')).toMatchObject({ status: 'True', reason: 'EndpointNotAllowed' });
    expect(conditionOf(obj, 'Stalled')?.message).toContain(named);
    expect(obj.status?.imageID).toBeUndefined();
    expect(obj.metadata.finalizers ?? []).toEqual([]);
    expect(trap.log).toEqual([]);
    const listed = await glance(OURS.url, 'GET', `/v2/images?name=${name}`);
    expect((JSON.parse(listed.body.toString('utf8')) as { images: unknown[] }).images).toEqual([]);
  }

  it.each([
    [
      'endpoint-keystone',
      'a loopback port not allowed',
      () => trap.url('/v3'),
      () => `127.0.0.1 port ${trap.port}`,
    ],
    ['endpoint-metadata', 'the metadata address', () => 'http://169.254.169.254/v3', () => '169.254.169.254'],
  ])(
    'stalls EndpointNotAllowed on a cloud.authUrl on %s, sending it no password',
    async (name, _what, authUrl, named) => {
      await applyImage(name, {
        cloud: { authUrl: authUrl(), region: OURS.region, credentialsSecretRef: { name: 'cloud' } },
        diskFormat: 'raw',
        source: { url: source.url('/plain.raw') },
      });
      await expectRefused(name, named());
    },
  );

  it('stalls EndpointNotAllowed on a cloud.imageUrl not allowed, sending it no token', async () => {
    await applyImage('endpoint-glance', {
      cloud: { authUrl: env.OS_AUTH_URL, imageUrl: trap.url(''), credentialsSecretRef: { name: 'cloud' } },
      diskFormat: 'raw',
      source: { url: source.url('/plain.raw') },
    });
    await expectRefused('endpoint-glance', `127.0.0.1 port ${trap.port}`);
  });
});

describe('Image: Secrets not meant for the operator', () => {
  /** Serves the qcow2, keeping the headers of each request. */
  function headerKeepingSource(route: string): Array<Record<string, unknown>> {
    const seen: Array<Record<string, unknown>> = [];
    const serve = serveBytes(qcow2);
    source.route(route, (req, res, hit) => {
      seen.push({ ...req.headers });
      serve(req, res, hit);
    });
    return seen;
  }

  /** The Image once the operator decided: Ready, or Failed. */
  const settled = (name: string) =>
    waitFor(`Image ${name} to be Ready or Failed`, async () => {
      const obj = await getImage(name);
      return (obj?.status?.phase === 'Ready' || obj?.status?.phase === 'Failed') && obj;
    });

  it('stalls SecretNotAllowed on a headers Secret without the access label, and the source receives nothing', async () => {
    // A Secret of the namespace someone may not read, named by someone who may create Images there.
    await createSecret(kube, ns, 'mariadb-root', { 'X-Stolen': 'the-root-password' }, { labelled: false });
    const seen = headerKeepingSource('/exfiltrate.qcow2');
    await applyImage('secret-unlabelled', {
      diskFormat: 'qcow2',
      source: { url: source.url('/exfiltrate.qcow2'), headersSecretRef: { name: 'mariadb-root' } },
    });
    const obj = await settled('secret-unlabelled');
    expect(seen).toEqual([]);
    expect(source.requests('/exfiltrate.qcow2')).toEqual([]);
    expect(conditionOf(obj, 'Stalled')).toMatchObject({ status: 'True', reason: 'SecretNotAllowed' });
    expect(conditionOf(obj, 'Stalled')?.message).toContain(
      `Secret ${ns}/mariadb-root lacks the label glance.stackops.dev/operator-access="true"`,
    );
    // Refused before the image was created: no empty queued image is left behind in Glance.
    expect(obj.status?.imageID).toBeUndefined();
    const named = await glance(OURS.url, 'GET', '/v2/images?name=secret-unlabelled');
    expect((JSON.parse(named.body.toString('utf8')) as { images: unknown[] }).images).toEqual([]);
  });

  it('sends the keys of a labelled headers Secret to the source as headers', async () => {
    await createSecret(kube, ns, 'mirror-token', { 'X-Mirror-Token': 'for-the-mirror' });
    const seen = headerKeepingSource('/with-token.qcow2');
    await applyImage('secret-labelled', {
      diskFormat: 'qcow2',
      source: {
        url: source.url('/with-token.qcow2'),
        checksum: `sha256:${sha256(qcow2)}`,
        headersSecretRef: { name: 'mirror-token' },
      },
    });
    const obj = await settled('secret-labelled');
    expect(obj.status?.phase).toBe('Ready');
    expect(seen[0]).toMatchObject({ 'x-mirror-token': 'for-the-mirror' });
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

describe('Image: adoption of an existing image', () => {
  /** An image made the way a user would have made it before there was an Image for it. */
  async function existingImage(name: string, data?: Buffer): Promise<string> {
    const created = await glance(OURS.url, 'POST', '/v2/images', undefined, {
      name,
      disk_format: 'qcow2',
      container_format: 'bare',
    });
    expect(created.status).toBe(201);
    const id = (JSON.parse(created.body.toString('utf8')) as { id: string }).id;
    if (data) {
      const put = await glance(OURS.url, 'PUT', `/v2/images/${id}/file`, undefined, data);
      expect(put.status).toBe(204);
    }
    return id;
  }

  it('takes over an active image by id: its data stays, its metadata becomes the declared one', async () => {
    const id = await existingImage(`adopt-me-${ns}`, qcow2);
    await applyImage('adopted', {
      name: `adopt-me-${ns}`,
      diskFormat: 'qcow2',
      tags: ['adopted'],
      adopt: { imageID: id },
      // An adopted image is kept by default: Delete, set explicitly, lets afterAll remove it with the Image.
      deletionPolicy: 'Delete',
      source: { url: source.url('/adopted.qcow2'), checksum: `sha512:${sha512(qcow2)}` },
    });
    const obj = await waitForPhase('adopted', 'Ready');
    expect(obj.status?.imageID).toBe(id);
    await expectStored(OURS.url, obj, qcow2);
    expect(source.requests('/adopted.qcow2')).toEqual([]);
    expect((await glanceImage(OURS.url, id))?.tags).toEqual(['adopted']);
    const events = await eventsFor(kube, ns, 'adopted');
    expect(events.some((e) => e.reason === 'Adopted' && e.note?.includes(id))).toBe(true);
  });

  it('uploads into an adopted image that has no data yet, found by name', async () => {
    const id = await existingImage(`adopt-queued-${ns}`);
    source.route('/adopt-queued.qcow2', serveBytes(qcow2));
    await applyImage('adopt-queued', {
      name: `adopt-queued-${ns}`,
      diskFormat: 'qcow2',
      adopt: { byName: true },
      deletionPolicy: 'Delete',
      source: { url: source.url('/adopt-queued.qcow2'), checksum: `sha256:${sha256(qcow2)}` },
    });
    const obj = await waitForPhase('adopt-queued', 'Ready');
    expect(obj.status?.imageID).toBe(id);
    await expectStored(OURS.url, obj, qcow2);
  });

  it('refuses an active image whose data is not the declared checksum, and leaves it as it was', async () => {
    const other = randomBytes(100_000);
    const id = await existingImage(`adopt-wrong-${ns}`, other);
    await applyImage('adopt-wrong', {
      name: `adopt-wrong-${ns}`,
      diskFormat: 'qcow2',
      deletionPolicy: 'Orphan',
      adopt: { imageID: id },
      source: { url: source.url('/adopted.qcow2'), checksum: `md5:${md5(qcow2)}` },
    });
    const obj = await waitForPhase('adopt-wrong', 'Failed');
    expect(conditionOf(obj, 'Stalled')).toMatchObject({ status: 'True', reason: 'AdoptedImageMismatch' });
    expect(await glanceImage(OURS.url, id)).toMatchObject({ status: 'active', checksum: md5(other) });
    await kube.custom.deleteNamespacedCustomObject({ ...IMAGE, namespace: ns, name: 'adopt-wrong' });
    await waitFor('the Image to go', async () => !(await getImage('adopt-wrong')));
    expect(await glanceImage(OURS.url, id)).toMatchObject({ status: 'active' });
    await glance(OURS.url, 'DELETE', `/v2/images/${id}`);
  });
});

describe('Image: a changed source', () => {
  const version = (n: 1 | 2 | 3, deletionPolicy: string) => ({
    diskFormat: 'raw',
    deletionPolicy,
    source: { url: source.url(`/v${n}.raw`), checksum: `sha256:${sha256(versions[n - 1] as Buffer)}` },
  });

  it('uploads a new image, keeps serving the old one until it is active, then deletes the old one (Delete)', async () => {
    await applyImage('replaced', version(1, 'Delete'));
    const first = await waitForPhase('replaced', 'Ready');
    const oldId = first.status?.imageID ?? '';
    await expectStored(OURS.url, first, versions[0] as Buffer);

    await applyImage('replaced', version(2, 'Delete'));
    const during = await waitFor('the replacement to be half uploaded', async () => {
      const obj = await getImage('replaced');
      return (obj?.status?.progress?.bytes ?? 0) >= 300_000 && !!obj?.status?.pendingImageID && obj;
    });
    // The old image is still the one in use, intact; the new one is not active.
    expect(during.status?.imageID).toBe(oldId);
    expect(during.status?.pendingImageID).not.toBe(oldId);
    expect(conditionOf(during, 'Ready')?.status).toBe('False');
    expect(conditionOf(during, 'Reconciling')?.status).toBe('True');
    expect(await glanceImage(OURS.url, oldId)).toMatchObject({
      status: 'active',
      checksum: md5(versions[0] as Buffer),
    });
    expect(await glanceImage(OURS.url, during.status?.pendingImageID ?? '')).toMatchObject({
      name: 'replaced',
    });

    replacementGate.open();
    // The status names the replacement (and the replaced image as retired) before the old image is deleted,
    // then drops the retired id: wait for that last write.
    const after = await waitFor(
      'imageID to move to the replacement and the old one to be retired',
      async () => {
        const obj = await waitForPhase('replaced', 'Ready');
        return obj.status?.imageID !== oldId && obj.status?.retiredImageID === undefined && obj;
      },
    );
    expect(after.status?.imageID).toBe(during.status?.pendingImageID);
    expect(after.status?.pendingImageID).toBeUndefined();
    expect(after.status?.retiredImageID).toBeUndefined();
    await expectStored(OURS.url, after, versions[1] as Buffer);
    expect(await glanceImage(OURS.url, oldId)).toBeUndefined();
    const reasons = (await eventsFor(kube, ns, 'replaced')).map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['SourceChanged', 'Replaced', 'Retired']));
  });

  it('leaves the old image in Glance under deletionPolicy Orphan', async () => {
    await applyImage('replaced-kept', version(1, 'Orphan'));
    const oldId = (await waitForPhase('replaced-kept', 'Ready')).status?.imageID ?? '';
    await applyImage('replaced-kept', version(3, 'Orphan'));
    const after = await waitFor('imageID to move to the replacement', async () => {
      const obj = await waitForPhase('replaced-kept', 'Ready');
      return obj.status?.imageID !== oldId && obj;
    });
    await expectStored(OURS.url, after, versions[2] as Buffer);
    expect(await glanceImage(OURS.url, oldId)).toMatchObject({
      status: 'active',
      checksum: md5(versions[0] as Buffer),
    });
    // Orphan leaves the current image too when the Image goes: both are removed by hand.
    await kube.custom.deleteNamespacedCustomObject({ ...IMAGE, namespace: ns, name: 'replaced-kept' });
    await waitFor('the Image to go', async () => !(await getImage('replaced-kept')));
    for (const id of [oldId, after.status?.imageID ?? '']) {
      expect((await glance(OURS.url, 'DELETE', `/v2/images/${id}`)).status).toBe(204);
    }
  });
});

describe('Image: the end of a transfer', () => {
  // A second controller, on a namespace of its own, that would show progress only every 10 minutes: the
  // Images below can only get there in time if the end of their transfer makes the controller look at once.
  const quietNs = `${ns}-quiet`;
  let quiet: ImageController;

  beforeAll(async () => {
    await createNamespace(kube, quietNs);
    await createSecret(kube, quietNs, 'cloud', {
      username: env.OS_USERNAME ?? '',
      password: env.OS_PASSWORD ?? '',
      project: env.OS_PROJECT_NAME ?? '',
    });
    const metrics = createOperatorMetrics();
    const log = pino({ level: 'silent' });
    const operatorKube = new KubeApiClient(kubeConfig(), metrics, FIELD_MANAGER);
    quiet = createImageController({
      kube: operatorKube,
      events: new KubeEventRecorder(operatorKube, CONTROLLER_NAME, `test-quiet-${process.pid}`, log),
      metrics,
      log,
      namespace: quietNs,
      resyncMs: 600_000,
      stalledRetryMs: 600_000,
      deletionTimeoutMs: 600_000,
      maxTransfers: 2,
      progressMs: 600_000,
      retryBaseMs: 600_000,
      urlPolicy: sourcesAllowed(),
    });
    await quiet.controller.start();
  });

  afterAll(async () => {
    for (const name of ['quiet-ok', 'quiet-missing']) {
      await kube.custom
        .deleteNamespacedCustomObject({ ...IMAGE, namespace: quietNs, name })
        .catch(() => undefined);
    }
    await waitFor(
      'the quiet Images to be finalized',
      async () =>
        (
          (await kube.custom.listNamespacedCustomObject({ ...IMAGE, namespace: quietNs })) as {
            items: unknown[];
          }
        ).items.length === 0,
      60_000,
    ).catch(() => undefined);
    await quiet?.stop();
    await kube.core.deleteNamespace({ name: quietNs }).catch(() => undefined);
  });

  it('makes the Image Ready, or Failed, without waiting for the next progress update', async () => {
    const apply = (name: string, url: string) =>
      kube.objects.patch(
        {
          apiVersion: 'glance.stackops.dev/v1alpha1',
          kind: 'Image',
          metadata: { name, namespace: quietNs },
          spec: {
            cloud: { authUrl: env.OS_AUTH_URL, region: OURS.region, credentialsSecretRef: { name: 'cloud' } },
            diskFormat: 'qcow2',
            source: { url, checksum: `sha256:${sha256(qcow2)}` },
          },
        } as KubernetesObject,
        undefined,
        undefined,
        'image-tests',
        true,
        PatchStrategy.ServerSideApply,
      );
    await apply('quiet-ok', source.url('/disk.qcow2'));
    await apply('quiet-missing', source.url('/not-there.qcow2'));
    const phaseOf = async (name: string) =>
      (await kube.getCustom<ImageObject>(IMAGE, quietNs, name))?.status?.phase;
    await waitFor('quiet-ok to be Ready', async () => (await phaseOf('quiet-ok')) === 'Ready', 60_000);
    await waitFor(
      'quiet-missing to be Failed',
      async () => (await phaseOf('quiet-missing')) === 'Failed',
      60_000,
    );
    const ok = await kube.getCustom<ImageObject>(IMAGE, quietNs, 'quiet-ok');
    expect(ok?.status?.progress).toEqual({ bytes: qcow2.length, total: qcow2.length, percent: 100 });
  });
});

it('never logs the Keystone password or a token', async () => {
  await waitForPhase('checked', 'Ready');
  expect(logs).toContain('transfer started');
  expect(logs).not.toContain(env.OS_PASSWORD ?? '<none>');
  expect(logs).not.toContain(await adminTokenFromStack());
});
