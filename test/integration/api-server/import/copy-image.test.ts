import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ApiServer, ScratchDatabase, startOnScratchDatabase } from '../server.js';
import {
  adminToken,
  call,
  downloadSha256,
  RBD_OPTIONS,
  rbdImages,
  removeRbdImage,
  sha256,
} from '../store/fixtures.js';
import { eventually } from './fixtures.js';

// copy-image on our API with enabled_backends `fast` (file, the default), `ceph` (rbd) and `web` (the
// read-only http store): an active image's data is copied from the store holding it into the others, with the
// os_glance_* bookkeeping, task record and import lock a client (Tempest's ImportCopyImagesTest) watches.

const db = new ScratchDatabase();
const fastDir = mkdtempSync(path.join(tmpdir(), 'copy-image-fast-'));
const stagingDir = mkdtempSync(path.join(tmpdir(), 'copy-image-staging-'));
const server = new ApiServer({
  db,
  workers: 1,
  defaults: { enabled_backends: 'fast:file, ceph:rbd, web:http', show_multiple_locations: 'True' },
  glanceStore: { default_backend: 'fast' },
  sections: {
    fast: { filesystem_store_datadir: fastDir },
    ceph: RBD_OPTIONS(),
    web: {},
    os_glance_staging_store: { filesystem_store_datadir: stagingDir },
  },
});
let token: string;
const created: string[] = [];

type Image = Record<string, unknown> & { id: string; status: string };

beforeAll(async () => {
  await startOnScratchDatabase(db, server);
  token = await adminToken();
});

afterAll(async () => {
  for (const id of created) {
    await removeRbdImage(id);
  }
  await server.stop();
  server.cleanup();
  rmSync(fastDir, { recursive: true, force: true });
  rmSync(stagingDir, { recursive: true, force: true });
  await db.drop();
});

const show = async (id: string): Promise<Image> =>
  (await call(server.base, token, 'GET', `/v2/images/${id}`)).json() as Image;

const copy = (id: string, body: Record<string, unknown>) =>
  call(
    server.base,
    token,
    'POST',
    `/v2/images/${id}/import`,
    { method: { name: 'copy-image' }, ...body },
    { Accept: 'application/json' },
  );

/** Until no store is left importing (what Tempest waits for) and the task has let go of the import lock. */
const copied = (id: string): Promise<Image> =>
  eventually(`the copy of ${id} to finish`, async () => {
    const image = await show(id);
    const done = image.os_glance_importing_to_stores === '' && !('os_glance_import_task' in image);
    return done ? image : undefined;
  });

const tasks = async (id: string): Promise<Array<Record<string, unknown>>> =>
  (await call(server.base, token, 'GET', `/v2/images/${id}/tasks`)).json().tasks as Array<
    Record<string, unknown>
  >;

async function activeImage(data: Buffer): Promise<string> {
  const res = await call(server.base, token, 'POST', '/v2/images', {
    name: 'copy-me',
    disk_format: 'raw',
    container_format: 'bare',
  });
  expect(res.status).toBe(201);
  const id = (res.json() as Image).id;
  created.push(id);
  expect((await call(server.base, token, 'PUT', `/v2/images/${id}/file`, data)).status).toBe(204);
  expect((await show(id)).stores).toBe('fast');
  return id;
}

test('all_stores copies an active image into every writable store; the copy serves the same bytes', async () => {
  const data = randomBytes(3 * 1024 * 1024 + 5);
  const id = await activeImage(data);
  const before = await show(id);

  const res = await copy(id, { all_stores: true, all_stores_must_succeed: false });
  expect(res.status).toBe(202);
  const image = await copied(id);
  expect(image).toMatchObject({
    status: 'active',
    stores: 'fast,ceph',
    os_glance_failed_import: '',
    checksum: before.checksum,
    os_hash_value: before.os_hash_value,
    size: data.length,
  });
  expect(await rbdImages()).toContain(id);
  expect(readdirSync(stagingDir)).not.toContain(id);

  const [task, ...others] = await tasks(id);
  expect(others).toEqual([]);
  expect(task).toMatchObject({
    status: 'success',
    type: 'api_image_import',
    input: { image_id: id, backend: ['ceph'], import_req: { method: { name: 'copy-image' } } },
  });

  // Served from ceph alone once the first copy is gone.
  expect((await call(server.base, token, 'DELETE', `/v2/stores/fast/${id}`)).status).toBe(204);
  expect((await show(id)).stores).toBe('ceph');
  expect(await downloadSha256(server.base, token, id)).toBe(sha256(data));
});

test('a store already holding the image is refused by name and skipped by all_stores', async () => {
  const id = await activeImage(randomBytes(100_000));
  expect((await copy(id, { stores: ['ceph'] })).status).toBe(202);
  expect((await copied(id)).stores).toBe('fast,ceph');

  const again = await copy(id, { stores: ['ceph'] });
  expect(again.status).toBe(400);
  expect(again.text).toContain("Image is already present at store 'ceph'");
  const unknown = await copy(id, { stores: ['tape'] });
  expect(unknown.status).toBe(409);
  expect(unknown.text).toContain('Store for identifier tape not found');
  // Nothing left to copy to: accepted, and no task is started.
  expect((await copy(id, { all_stores: true })).status).toBe(202);
  expect(await tasks(id)).toHaveLength(1);
});

test('only an active image can be copied', async () => {
  const res = await call(server.base, token, 'POST', '/v2/images', {
    name: 'queued',
    disk_format: 'raw',
    container_format: 'bare',
  });
  const id = (res.json() as Image).id;
  created.push(id);
  const refused = await copy(id, { stores: ['ceph'] });
  expect(refused.status).toBe(409);
  expect(refused.text).toContain('Only images with status active can be targeted for copying');
});

test('a copy whose source data is gone fails its task, records the failed store and keeps the image', async () => {
  const id = await activeImage(randomBytes(50_000));
  const file = path.join(fastDir, id);
  expect(existsSync(file)).toBe(true);
  unlinkSync(file);

  expect((await copy(id, { stores: ['ceph'] })).status).toBe(202);
  const task = await eventually('the copy task to fail', async () => {
    const [found] = await tasks(id);
    return found?.status === 'failure' ? found : undefined;
  });
  expect(task.message).toBe('Image not found in any configured store');
  const image = await show(id);
  expect(image).toMatchObject({
    status: 'active',
    stores: 'fast',
    os_glance_importing_to_stores: '',
    os_glance_failed_import: 'ceph',
  });
  // The lock is released: another copy may be asked for (and fails the same way).
  expect(image).not.toHaveProperty('os_glance_import_task');
  expect((await copy(id, { stores: ['ceph'] })).status).toBe(202);
  await eventually('the second copy task to fail', async () => {
    const all = await tasks(id);
    return all.length === 2 && all.every((t) => t.status === 'failure') ? all : undefined;
  });
  expect(await rbdImages()).not.toContain(id);
});

test('when one store of a must-succeed copy fails, the copies already made are removed with their data', async () => {
  const id = await activeImage(randomBytes(200_000));
  // `web` is the read-only http store: naming it is allowed, writing to it fails after ceph got its copy.
  expect((await copy(id, { stores: ['ceph', 'web'] })).status).toBe(202);
  const task = await eventually('the copy task to fail', async () => {
    const [found] = await tasks(id);
    return found?.status === 'failure' ? found : undefined;
  });
  expect(task.message).not.toBe('');
  expect(await show(id)).toMatchObject({
    status: 'active',
    stores: 'fast',
    os_glance_importing_to_stores: '',
    os_glance_failed_import: 'web',
  });
  expect(await rbdImages()).not.toContain(id);
});
