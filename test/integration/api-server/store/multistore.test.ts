import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stackValue } from '../../../harness/stack-env.js';
import { ApiServer, ScratchDatabase, startOnScratchDatabase } from '../server.js';
import {
  adminToken,
  call,
  downloadSha256,
  RBD_OPTIONS,
  rbdImages,
  removeRbdImage,
  sha256,
} from './fixtures.js';

// Our API with two backends, `fast` (a file store, the default) and `ceph` (rbd), as enabled_backends
// configures them: the store list, uploads and imports to a chosen store, and removing data from one store.

const db = new ScratchDatabase();
const fastDir = mkdtempSync(path.join(tmpdir(), 'multistore-fast-'));
const stagingDir = mkdtempSync(path.join(tmpdir(), 'multistore-staging-'));
const server = new ApiServer({
  db,
  workers: 1,
  defaults: { enabled_backends: 'fast:file, ceph:rbd', show_multiple_locations: 'True' },
  glanceStore: { default_backend: 'fast' },
  sections: {
    fast: { store_description: 'Local disk', filesystem_store_datadir: fastDir },
    ceph: { store_description: 'Ceph RBD', ...RBD_OPTIONS() },
    os_glance_staging_store: { filesystem_store_datadir: stagingDir },
  },
});
let token: string;
const created: string[] = [];

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

async function createImage(name: string): Promise<string> {
  const res = await call(server.base, token, 'POST', '/v2/images', {
    name,
    disk_format: 'raw',
    container_format: 'bare',
  });
  expect(res.status).toBe(201);
  expect(res.headers.get('openstack-image-store-ids')).toBe('fast,ceph');
  const id = res.json().id as string;
  created.push(id);
  return id;
}

test('GET /v2/info/stores lists the backends (detail for admins) and the versions document has multistore', async () => {
  const stores = (await call(server.base, token, 'GET', '/v2/info/stores')).json();
  expect(stores).toEqual({
    stores: [
      { id: 'fast', description: 'Local disk', default: 'true' },
      { id: 'ceph', description: 'Ceph RBD' },
    ],
  });
  const detail = (await call(server.base, token, 'GET', '/v2/info/stores/detail')).json();
  expect(detail.stores).toEqual([
    expect.objectContaining({ id: 'fast', type: 'file' }),
    expect.objectContaining({
      id: 'ceph',
      type: 'rbd',
      properties: { chunk_size: 8 * 1024 * 1024, pool: 'images', thin_provisioning: false },
    }),
  ]);
  const versions = (await (await fetch(`${server.base}/versions`)).json()) as { versions: { id: string }[] };
  expect(versions.versions.map((v) => v.id)).toContain('v2.13');
});

test('x-image-meta-store picks the backend of an upload; `stores` tells where the data is', async () => {
  const data = randomBytes(5 * 1024 * 1024);
  const onCeph = await createImage('on-ceph');
  const put = await call(server.base, token, 'PUT', `/v2/images/${onCeph}/file`, data, {
    'x-image-meta-store': 'ceph',
  });
  expect(put.status).toBe(204);
  const image = (await call(server.base, token, 'GET', `/v2/images/${onCeph}`)).json();
  expect(image.stores).toBe('ceph');
  expect(image.locations).toEqual([
    {
      url: `rbd://${stackValue('CEPH_FSID')}/images/${onCeph}/snap`,
      metadata: { store: 'ceph' },
    },
  ]);
  expect(await rbdImages()).toContain(onCeph);
  expect(await downloadSha256(server.base, token, onCeph)).toBe(sha256(data));

  const onFast = await createImage('on-fast');
  expect((await call(server.base, token, 'PUT', `/v2/images/${onFast}/file`, data)).status).toBe(204);
  const fast = (await call(server.base, token, 'GET', `/v2/images/${onFast}`)).json();
  expect(fast.stores).toBe('fast');
  expect(existsSync(path.join(fastDir, onFast))).toBe(true);

  const unknown = await createImage('nowhere');
  const refused = await call(server.base, token, 'PUT', `/v2/images/${unknown}/file`, data, {
    'x-image-meta-store': 'tape',
  });
  expect(refused.status).toBe(400);
  expect(refused.text).toContain('Store for identifier tape not found');
  expect((await call(server.base, token, 'GET', `/v2/images/${unknown}`)).json().status).toBe('queued');
});

test('an import into both stores, then DELETE /v2/stores/{store}/{image} removes one copy only', async () => {
  const data = randomBytes(3 * 1024 * 1024 + 17);
  const id = await createImage('both');
  expect((await call(server.base, token, 'PUT', `/v2/images/${id}/stage`, data)).status).toBe(204);
  const imported = await call(server.base, token, 'POST', `/v2/images/${id}/import`, {
    method: { name: 'glance-direct' },
    stores: ['fast', 'ceph'],
  });
  expect(imported.status).toBe(202);
  let image: Record<string, unknown> = {};
  for (let i = 0; i < 120; i++) {
    image = (await call(server.base, token, 'GET', `/v2/images/${id}`)).json();
    if (image.status === 'active' && String(image.stores).split(',').length === 2) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  expect(String(image.stores).split(',').sort()).toEqual(['ceph', 'fast']);
  expect(await rbdImages()).toContain(id);

  const unknownStore = await call(server.base, token, 'DELETE', `/v2/stores/tape/${id}`);
  expect(unknownStore.status).toBe(409);
  expect(unknownStore.text).toContain('The selected store tape is not available on this node.');

  expect((await call(server.base, token, 'DELETE', `/v2/stores/ceph/${id}`)).status).toBe(204);
  const after = (await call(server.base, token, 'GET', `/v2/images/${id}`)).json();
  expect(after.stores).toBe('fast');
  expect(await rbdImages()).not.toContain(id);
  expect(await downloadSha256(server.base, token, id)).toBe(sha256(data));

  const notThere = await call(server.base, token, 'DELETE', `/v2/stores/ceph/${id}`);
  expect(notThere.status).toBe(403);
  expect(notThere.text).toContain('Cannot delete image data from the only store containing it.');
  expect(existsSync(path.join(fastDir, id))).toBe(true);
});
