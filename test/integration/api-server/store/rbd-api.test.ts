import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../harness/run.js';
import { stackValue } from '../../../harness/stack-env.js';
import { ApiServer, requireBuild, ScratchDatabase } from '../server.js';
import {
  adminToken,
  call,
  downloadSha256,
  poolStored,
  RBD_OPTIONS,
  rbd,
  rbdImages,
  removeRbdImage,
  settledPoolStored,
  sha256,
  UpstreamGlance,
} from './fixtures.js';

// Our API on the install guide's Ceph configuration (stores = rbd), beside a second upstream glance-api on the
// same database and pool: the images each writes must be the images the other (and Nova) expects.

const db = new ScratchDatabase();
const ours = new ApiServer({
  db,
  workers: 1,
  defaults: { show_image_direct_url: 'True' },
  glanceStore: { stores: 'rbd', default_store: 'rbd', ...RBD_OPTIONS() },
});
const upstream = new UpstreamGlance(db);
let token: string;
let dir: string;
const created: string[] = [];

beforeAll(async () => {
  requireBuild();
  await db.create();
  await ours.writeConfig();
  const sync = await ours.run(['db-sync']);
  if (sync.code !== 0) throw new Error(`db-sync failed:\n${sync.output}`);
  await ours.start();
  await upstream.start();
  token = await adminToken();
  dir = await mkdtemp(join(tmpdir(), 'rbd-api-'));
});

afterAll(async () => {
  for (const id of created) {
    await removeRbdImage(id);
  }
  await ours.stop();
  await upstream.stop();
  ours.cleanup();
  await db.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function createImage(base: string, name: string): Promise<string> {
  const res = await call(base, token, 'POST', '/v2/images', {
    name,
    disk_format: 'raw',
    container_format: 'bare',
  });
  expect(res.status).toBe(201);
  const id = res.json().id as string;
  created.push(id);
  return id;
}

test('the seed workflow: `glance image-create` on rbd gives a protected snap named by the id, and ceph df grows', async () => {
  const qcow2 = join(dir, 'centos.qcow2');
  await run('qemu-img', ['create', '-f', 'qcow2', qcow2, '256M']);
  await run('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x6b 0 20M', qcow2]);
  const size = (await readFile(qcow2)).length;
  const before = await settledPoolStored();
  const name = `centos-${randomUUID().slice(0, 8)}`;
  const out = (
    await run(
      'glance',
      [
        'image-create',
        '--name',
        name,
        '--file',
        qcow2,
        '--disk-format',
        'qcow2',
        '--container-format',
        'bare',
        '--visibility',
        'public',
      ],
      { env: { OS_IMAGE_URL: ours.base } },
    )
  ).stdout;
  const id = /\|\s*id\s*\|\s*([0-9a-f-]{36})\s*\|/.exec(out)?.[1];
  expect(id).toBeDefined();
  created.push(id!);
  const shown = (await call(ours.base, token, 'GET', `/v2/images/${id}`)).json();
  expect(shown).toMatchObject({ name, status: 'active', size, visibility: 'public', disk_format: 'qcow2' });
  expect(shown.direct_url).toBe(`rbd://${stackValue('CEPH_FSID')}/images/${id}/snap`);

  expect(await rbdImages()).toContain(id);
  const snaps = JSON.parse(await rbd('snap', 'ls', `images/${id}`, '--format', 'json')) as {
    name: string;
    protected: string;
  }[];
  expect(snaps).toEqual([expect.objectContaining({ name: 'snap', protected: 'true' })]);
  // The mgr publishes pool statistics every few seconds.
  let grown = 0;
  for (let i = 0; i < 60 && grown < size; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    grown = (await poolStored()) - before;
  }
  expect(grown).toBeGreaterThanOrEqual(size);
  expect(await downloadSha256(ours.base, token, id!)).toBe(sha256(await readFile(qcow2)));
});

test('an image uploaded by our API is served byte-identical by upstream glance-api, and the other way round', async () => {
  const data = randomBytes(12 * 1024 * 1024 + 4321);
  const mine = await createImage(ours.base, 'from-ours');
  expect((await call(ours.base, token, 'PUT', `/v2/images/${mine}/file`, data)).status).toBe(204);
  const seenUpstream = (await call(upstream.base, token, 'GET', `/v2/images/${mine}`)).json();
  expect(seenUpstream).toMatchObject({ status: 'active', size: data.length });
  expect(await downloadSha256(upstream.base, token, mine)).toBe(sha256(data));

  const theirs = await createImage(upstream.base, 'from-upstream');
  expect((await call(upstream.base, token, 'PUT', `/v2/images/${theirs}/file`, data)).status).toBe(204);
  const seenByUs = (await call(ours.base, token, 'GET', `/v2/images/${theirs}`)).json();
  expect(seenByUs).toMatchObject({ status: 'active', size: data.length });
  expect(await downloadSha256(ours.base, token, theirs)).toBe(sha256(data));
  // Both wrote the same layout: the id in the pool, with a protected snap, at the same location.
  expect(seenByUs.direct_url).toBe(`rbd://${stackValue('CEPH_FSID')}/images/${theirs}/snap`);

  // Each deletes what the other wrote, snapshot and all.
  expect((await call(upstream.base, token, 'DELETE', `/v2/images/${mine}`)).status).toBe(204);
  expect((await call(ours.base, token, 'DELETE', `/v2/images/${theirs}`)).status).toBe(204);
  const left = await rbdImages();
  expect(left).not.toContain(mine);
  expect(left).not.toContain(theirs);
});

test('a clone of the snapshot (as Nova makes) blocks deletion with 409 until it is removed', async () => {
  const id = await createImage(ours.base, 'cloned');
  expect(
    (await call(ours.base, token, 'PUT', `/v2/images/${id}/file`, randomBytes(3 * 1024 * 1024))).status,
  ).toBe(204);
  const clone = `${id}-disk`;
  created.push(clone);
  await rbd('clone', `images/${id}@snap`, `images/${clone}`);

  const refused = await call(ours.base, token, 'DELETE', `/v2/images/${id}`, undefined, {
    Accept: 'application/json',
  });
  expect(refused.status).toBe(409);
  expect(refused.text).toContain(`Image ${id} could not be deleted because it is in use`);
  // Nothing was removed: the image is still active and its data still there.
  expect((await call(ours.base, token, 'GET', `/v2/images/${id}`)).json().status).toBe('active');
  expect(await rbdImages()).toContain(id);

  await rbd('rm', `images/${clone}`);
  expect((await call(ours.base, token, 'DELETE', `/v2/images/${id}`)).status).toBe(204);
  expect(await rbdImages()).not.toContain(id);
  expect((await call(ours.base, token, 'GET', `/v2/images/${id}`)).status).toBe(404);
});

test('a single store answers the multistore API as upstream does: 404 on /v2/info/stores', async () => {
  for (const base of [ours.base, upstream.base]) {
    expect((await call(base, token, 'GET', '/v2/info/stores')).status).toBe(404);
  }
  const versions = (await (await fetch(`${ours.base}/versions`)).json()) as { versions: { id: string }[] };
  expect(versions.versions.map((v) => v.id)).not.toContain('v2.13');
});
