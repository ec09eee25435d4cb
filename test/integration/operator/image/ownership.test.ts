import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import pino from 'pino';
import { IMAGE, IMAGE_MARK_PROPERTY, type ImageObject } from '../../../../operator/src/api/image-types.js';
import { CONTROLLER_NAME, FIELD_MANAGER } from '../../../../operator/src/api/operator-identity.js';
import {
  createImageController,
  type ImageController,
} from '../../../../operator/src/image/image-controller.js';
import { KubeEventRecorder } from '../../../../operator/src/runtime/events.js';
import { KubeApiClient } from '../../../../operator/src/runtime/kube-client.js';
import { createOperatorMetrics } from '../../../../operator/src/runtime/operator-metrics.js';
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
import { glance, glanceImage, listedIds } from './glance-user.js';
import { serveBytes, SourceServer } from './source-server.js';

// Which Glance images an Image owns: the Image controller in this process, against the real kube-apiserver and
// both Glances of the stack (ours, RegionTwo; upstream glance-api, RegionOne), as in image.test.ts.
const env = loadStackEnv();
const ns = `image-own-${suffix()}`;
const OURS = { region: 'RegionTwo', url: env.API_URL ?? '' };
const UPSTREAM = { region: 'RegionOne', url: env.UPSTREAM_GLANCE_URL ?? '' };
type Target = typeof OURS;

const data = randomBytes(600_000);
const sha256 = createHash('sha256').update(data).digest('hex');
const source = new SourceServer();

let kube: KubeApiClient;
let images: ImageController;

async function applyImage(name: string, spec: Record<string, unknown>, target: Target): Promise<void> {
  const body: KubernetesObject & { spec: object } = {
    apiVersion: 'glance.stackops.dev/v1alpha1',
    kind: 'Image',
    metadata: { name, namespace: ns },
    spec: {
      cloud: { authUrl: env.OS_AUTH_URL, region: target.region, credentialsSecretRef: { name: 'cloud' } },
      // Unique in the shared Glances, so that listing by name shows only this test's images.
      name: `${name}-${ns}`,
      diskFormat: 'raw',
      ...spec,
    },
  };
  await kube.objects.patch(body, undefined, undefined, 'image-tests', true, PatchStrategy.ServerSideApply);
}

const getImage = (name: string) => kube.getCustom<ImageObject>(IMAGE, ns, name);

function waitForReady(name: string, check: (obj: ImageObject) => boolean = () => true): Promise<ImageObject> {
  return waitFor(`Image ${name} to be Ready`, async () => {
    const obj = await getImage(name);
    return obj?.status?.phase === 'Ready' &&
      obj.status.observedGeneration === obj.metadata.generation &&
      check(obj)
      ? obj
      : undefined;
  });
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
  const metrics = createOperatorMetrics();
  const log = pino({ level: 'silent' });
  const operatorKube = new KubeApiClient(kubeConfig(), metrics, FIELD_MANAGER);
  images = createImageController({
    kube: operatorKube,
    events: new KubeEventRecorder(operatorKube, CONTROLLER_NAME, `test-own-${process.pid}`, log),
    metrics,
    log,
    namespace: ns,
    resyncMs: 2000,
    stalledRetryMs: 3000,
    deletionTimeoutMs: 600_000,
    maxTransfers: 4,
    progressMs: 300,
    retryBaseMs: 500,
    backoff: { baseMs: 500, maxMs: 5000 },
    urlPolicy: stackUrlPolicy([`127.0.0.1:${source.port}`]),
  });
  await images.controller.start();
});

afterAll(async () => {
  const list = (await kube.custom.listNamespacedCustomObject({ ...IMAGE, namespace: ns })) as {
    items: ImageObject[];
  };
  for (const obj of list.items)
    await kube.custom.deleteNamespacedCustomObject({ ...IMAGE, namespace: ns, name: obj.metadata.name });
  await waitFor(
    'the Images to be finalized',
    async () =>
      ((await kube.custom.listNamespacedCustomObject({ ...IMAGE, namespace: ns })) as { items: unknown[] })
        .items.length === 0,
    60_000,
  ).catch(() => undefined);
  await images?.stop();
  await source.stop();
  await kube.core.deleteNamespace({ name: ns }).catch(() => undefined);
});

describe('Image: a lost status finds the image it created', () => {
  it.each([
    ['lost-ours', OURS, false],
    ['lost-ours-hidden', OURS, true],
    ['lost-upstream', UPSTREAM, false],
    ['lost-upstream-hidden', UPSTREAM, true],
  ])(
    '%s: marked with its uid; a wiped status finds the same image, uploading nothing',
    async (name, target, osHidden) => {
      const route = `/${name}.raw`;
      source.route(route, serveBytes(data));
      await applyImage(
        name,
        { osHidden, source: { url: source.url(route), checksum: `sha256:${sha256}` } },
        target,
      );
      const ready = await waitForReady(name);
      const uid = ready.metadata.uid ?? '';
      const id = ready.status?.imageID ?? '';
      expect(await glanceImage(target.url, id)).toMatchObject({
        status: 'active',
        [IMAGE_MARK_PROPERTY]: uid,
      });
      // The Glance filters on the property (hidden images only when asked for them).
      const hidden = osHidden ? '&os_hidden=true' : '';
      expect(await listedIds(target.url, `${IMAGE_MARK_PROPERTY}=${uid}${hidden}`)).toEqual([id]);
      expect(await listedIds(target.url, `${IMAGE_MARK_PROPERTY}=${randomUUID()}${hidden}`)).toEqual([]);
      expect(source.requests(route)).toHaveLength(1);

      // The status is lost (a restore without it): the same object, the same uid.
      const wiped = await kube.replaceCustomStatus<ImageObject>(
        IMAGE,
        ns,
        name,
        ready.metadata.resourceVersion ?? '',
        {},
      );
      expect(wiped.status ?? {}).toEqual({});
      await waitFor(`Image ${name} to find its image`, async () =>
        (await eventsFor(kube, ns, name)).some((e) => e.reason === 'Found'),
      );
      const found = await waitForReady(name, (o) => !!o.status?.imageID);
      expect(found.status).toMatchObject({ imageID: id, size: data.length });
      expect(found.status?.pendingImageID).toBeUndefined();
      expect(source.requests(route)).toHaveLength(1);
      expect(await listedIds(target.url, `name=${name}-${ns}${hidden}`)).toEqual([id]);
      const note = (await eventsFor(kube, ns, name)).find((e) => e.reason === 'Found')?.note;
      expect(note).toBe(`Found image ${id} marked as this Image's; the status named none`);
    },
  );
});

describe('Image: an adopted image', () => {
  it('stays in Glance when its Image is deleted under the default deletionPolicy (Orphan)', async () => {
    const created = await glance(OURS.url, 'POST', '/v2/images', undefined, {
      name: `adopted-kept-${ns}`,
      disk_format: 'raw',
      container_format: 'bare',
    });
    expect(created.status).toBe(201);
    const id = (JSON.parse(created.body.toString('utf8')) as { id: string }).id;
    expect((await glance(OURS.url, 'PUT', `/v2/images/${id}/file`, undefined, data)).status).toBe(204);
    try {
      await applyImage(
        'adopted-kept',
        {
          adopt: { imageID: id },
          source: { url: source.url('/never-fetched.raw'), checksum: `sha256:${sha256}` },
        },
        OURS,
      );
      const obj = await waitForReady('adopted-kept');
      expect(obj.status?.imageID).toBe(id);
      await kube.custom.deleteNamespacedCustomObject({ ...IMAGE, namespace: ns, name: 'adopted-kept' });
      await waitFor('the Image to go', async () => !(await getImage('adopted-kept')));
      expect(await glanceImage(OURS.url, id)).toMatchObject({ status: 'active', size: data.length });
      const orphaned = (await eventsFor(kube, ns, 'adopted-kept')).find((e) => e.reason === 'Orphaned');
      expect(orphaned?.note).toBe(
        `Left image ${id} in Glance (deletionPolicy Orphan, the default of an Image that adopts)`,
      );
    } finally {
      await glance(OURS.url, 'DELETE', `/v2/images/${id}`);
    }
  });
});
