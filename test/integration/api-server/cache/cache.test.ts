import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadStackEnv } from '../../../harness/stack-env.js';
import { client } from '../client.js';
import { KeystoneFixture, type Persona } from '../keystone.js';
import { ApiServer, ScratchDatabase, startOnScratchDatabase } from '../server.js';

// The image cache as an operator turns it on: image_cache_dir plus upstream's keystone+caching flavor (the cache
// middleware), two worker processes sharing the directory, and the prefetcher on a short interval. Everything
// is observed over HTTP with real Keystone tokens, plus the files left in the cache directory.

const INTERVAL_S = 5;
const DATA = randomBytes(3 * 1024 * 1024 + 17);
const MD5 = createHash('md5').update(DATA).digest('hex');

const keystone = new KeystoneFixture();
const db = new ScratchDatabase();
const cacheDir = mkdtempSync(path.join(tmpdir(), 'glance-cache-it-'));
const server = new ApiServer({
  db,
  workers: 2,
  flavor: 'keystone+caching',
  defaults: { image_cache_dir: cacheDir, cache_prefetcher_interval: INTERVAL_S },
});
let admin: Persona;
let member: Persona;
let call: ReturnType<typeof client>;

interface CacheState {
  cached_images: Array<{
    image_id: string;
    hits: number;
    last_accessed: number;
    last_modified: number;
    size: number;
  }>;
  queued_images: string[];
}

beforeAll(async () => {
  await startOnScratchDatabase(db, server);
  call = client(server.base);
  admin = await keystone.adminPersona();
  member = await keystone.memberPersona('cache');
}, 60_000);

afterAll(async () => {
  await server.stop();
  server.cleanup();
  await db.drop();
  await keystone.cleanup();
  rmSync(cacheDir, { recursive: true, force: true });
});

/** An active image holding DATA, uploaded through `via` (each server has its own image directory). */
async function activeImage(owner: Persona = admin, via = call): Promise<string> {
  const created = await via(owner, 'POST', '/v2/images', {
    body: { name: 'cache-test', disk_format: 'raw', container_format: 'bare' },
  });
  expect(created.status).toBe(201);
  const id = (created.json as { id: string }).id;
  const put = await via(owner, 'PUT', `/v2/images/${id}/file`, {
    raw: DATA,
    headers: { 'Content-Type': 'application/octet-stream' },
  });
  expect(put.status).toBe(204);
  return id;
}

async function state(): Promise<CacheState> {
  const res = await call(admin, 'GET', '/v2/cache');
  expect(res.status).toBe(200);
  return res.json as CacheState;
}

const cachedEntry = async (id: string) => (await state()).cached_images.find((c) => c.image_id === id);

/** Polls the listing until the prefetcher has cached `id` (it may take two intervals by design). */
async function waitCached(id: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (await cachedEntry(id)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`image ${id} was not cached within 60 s; server output:\n${server.logs.slice(-3000)}`);
}

async function download(id: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.base}/v2/images/${id}/file`, {
    headers: { 'X-Auth-Token': admin.token, ...headers },
  });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

test('the versions document advertises the ids upstream does with its cache on', async () => {
  const ids = async (base: string) =>
    ((await (await fetch(`${base}/versions`)).json()) as { versions: Array<{ id: string; status: string }> })
      .versions;
  const upstream = await ids(loadStackEnv().UPSTREAM_GLANCE_URL ?? '');
  expect(upstream.map((v) => v.id)).toContain('v2.16');
  const idsAndStatus = (versions: Array<{ id: string; status: string }>) =>
    versions.map((v) => [v.id, v.status]);
  expect(idsAndStatus(await ids(server.base))).toEqual(idsAndStatus(upstream));
});

test('queue, prefetch, hit: the bytes and md5 of the store, and a hit counted per download', async () => {
  const id = await activeImage();
  const queued = await call(admin, 'PUT', `/v2/cache/${id}`);
  expect(queued.status).toBe(202);
  // Listed as queued right away: the prefetcher leaves an image queued for at least one interval.
  let now = await state();
  expect(now.queued_images).toContain(id);
  expect(now.cached_images.map((c) => c.image_id)).not.toContain(id);

  await waitCached(id);
  now = await state();
  expect(now.queued_images).not.toContain(id);
  const entry = await cachedEntry(id);
  expect(entry).toMatchObject({ image_id: id, hits: 0, size: DATA.length });
  expect(existsSync(path.join(cacheDir, id))).toBe(true);
  expect(readdirSync(path.join(cacheDir, 'incomplete'))).toEqual([]);

  const first = await download(id);
  expect(first.status).toBe(200);
  expect(first.headers.get('content-md5')).toBe(MD5);
  expect(first.headers.get('content-length')).toBe(String(DATA.length));
  expect(first.body.equals(DATA)).toBe(true);
  const afterOne = await cachedEntry(id);
  expect(afterOne?.hits).toBe(1);
  expect(afterOne?.last_accessed).toBeGreaterThanOrEqual(entry?.last_accessed ?? Infinity);

  // A Range read of a cached image is served from the cache like a store read: 206 and the same headers.
  const part = await download(id, { Range: 'bytes=100-199' });
  expect(part.status).toBe(206);
  expect(part.headers.get('content-range')).toBe(`bytes 100-199/${DATA.length}`);
  expect(part.headers.get('content-md5')).toBe(MD5);
  expect(part.body.equals(DATA.subarray(100, 200))).toBe(true);
  expect((await cachedEntry(id))?.hits).toBe(2);

  const removed = await call(admin, 'DELETE', `/v2/cache/${id}`);
  expect(removed.status).toBe(204);
  expect(await cachedEntry(id)).toBeUndefined();
  expect(existsSync(path.join(cacheDir, id))).toBe(false);
}, 120_000);

test('a miss of the whole image fills the cache as it streams; a Range read does not', async () => {
  const id = await activeImage();
  const part = await download(id, { Range: 'bytes=0-9' });
  expect(part.status).toBe(206);
  expect(part.body.equals(DATA.subarray(0, 10))).toBe(true);
  expect(await cachedEntry(id)).toBeUndefined();

  const miss = await download(id);
  expect(miss.status).toBe(200);
  expect(miss.headers.get('content-md5')).toBe(MD5);
  expect(miss.body.equals(DATA)).toBe(true);
  expect(await cachedEntry(id)).toMatchObject({ hits: 0, size: DATA.length });

  const hit = await download(id);
  expect(hit.body.equals(DATA)).toBe(true);
  expect((await cachedEntry(id))?.hits).toBe(1);
});

test('deleting or deactivating an image drops it from the cache', async () => {
  const gone = await activeImage();
  const deactivated = await activeImage();
  for (const id of [gone, deactivated]) {
    await download(id);
    expect(await cachedEntry(id)).toBeDefined();
  }
  expect((await call(admin, 'DELETE', `/v2/images/${gone}`)).status).toBe(204);
  expect((await call(admin, 'POST', `/v2/images/${deactivated}/actions/deactivate`)).status).toBe(204);
  const ids = (await state()).cached_images.map((c) => c.image_id);
  expect(ids).not.toContain(gone);
  expect(ids).not.toContain(deactivated);
  expect(existsSync(path.join(cacheDir, gone))).toBe(false);
});

test('clearing: the queue, the cache, or both, and 400 for another target', async () => {
  const cached = await activeImage();
  const queued = await activeImage();
  await download(cached);
  expect((await call(admin, 'PUT', `/v2/cache/${queued}`)).status).toBe(202);

  const bad = await call(admin, 'DELETE', '/v2/cache', {
    headers: { 'x-image-cache-clear-target': 'invalid' },
  });
  expect(bad.status).toBe(400);
  expect(bad.text).toContain(
    "If provided 'x-image-cache-clear-target' must be 'cache', 'queue' or empty string.",
  );

  expect(
    (await call(admin, 'DELETE', '/v2/cache', { headers: { 'x-image-cache-clear-target': 'queue' } })).status,
  ).toBe(204);
  let now = await state();
  expect(now.queued_images).toEqual([]);
  expect(now.cached_images.map((c) => c.image_id)).toContain(cached);

  expect((await call(admin, 'PUT', `/v2/cache/${queued}`)).status).toBe(202);
  expect(
    (await call(admin, 'DELETE', '/v2/cache', { headers: { 'x-image-cache-clear-target': 'Cache' } })).status,
  ).toBe(204);
  now = await state();
  expect(now.cached_images).toEqual([]);
  expect(now.queued_images).toEqual([queued]);

  await download(cached);
  expect((await call(admin, 'DELETE', '/v2/cache')).status).toBe(204);
  expect(await state()).toEqual({ cached_images: [], queued_images: [] });
});

test('only admins may use the cache API: 403 for a project member, even for its own image', async () => {
  const id = await activeImage(member);
  const calls: Array<[string, string]> = [
    ['GET', '/v2/cache'],
    ['DELETE', '/v2/cache'],
    ['PUT', `/v2/cache/${id}`],
    ['DELETE', `/v2/cache/${id}`],
  ];
  for (const [method, url] of calls) {
    const res = await call(member, method, url);
    expect([method, url, res.status]).toEqual([method, url, 403]);
  }
  expect((await state()).queued_images).not.toContain(id);
});

test('404 for an unknown image, 400 for one that is not active, 405 for other methods', async () => {
  expect((await call(admin, 'PUT', '/v2/cache/non-existing-image-id')).status).toBe(404);
  expect((await call(admin, 'DELETE', '/v2/cache/non-existing-image-id')).status).toBe(404);
  const created = await call(admin, 'POST', '/v2/images', { body: { name: 'never-uploaded' } });
  const queuedImage = (created.json as { id: string }).id;
  const notActive = await call(admin, 'PUT', `/v2/cache/${queuedImage}`);
  expect(notActive.status).toBe(400);
  expect((notActive.json as { message: string }).message).toContain(
    'Only images with status active can be targeted for queueing',
  );
  const post = await call(admin, 'POST', '/v2/cache');
  expect(post.status).toBe(405);
  expect(post.headers.get('allow')).toBe('GET, DELETE');
  expect((await call(admin, 'POST', `/v2/cache/${queuedImage}`)).headers.get('allow')).toBe('DELETE, PUT');
});

test('error bodies read exactly like upstream’s for the same request', async () => {
  const upstream = client(loadStackEnv().UPSTREAM_GLANCE_URL ?? '');
  for (const accept of ['application/json', '*/*']) {
    const headers = { Accept: accept };
    const ours = await call(admin, 'PUT', '/v2/cache/non-existing-image-id', { headers });
    const theirs = await upstream(admin, 'PUT', '/v2/cache/non-existing-image-id', { headers });
    expect([ours.status, ours.headers.get('content-type'), ours.text]).toEqual([
      theirs.status,
      theirs.headers.get('content-type'),
      theirs.text,
    ]);
  }
});

describe("with the stack's flavor (keystone: the cache API and prefetcher, no cache middleware)", () => {
  const plainCacheDir = mkdtempSync(path.join(tmpdir(), 'glance-cache-plain-'));
  const plain = new ApiServer({
    db,
    workers: 1,
    defaults: { image_cache_dir: plainCacheDir, cache_prefetcher_interval: INTERVAL_S },
  });
  let plainCall: ReturnType<typeof client>;

  beforeAll(async () => {
    await plain.writeConfig();
    await plain.start();
    plainCall = client(plain.base);
  }, 60_000);

  afterAll(async () => {
    await plain.stop();
    plain.cleanup();
    rmSync(plainCacheDir, { recursive: true, force: true });
  });

  test('downloads neither fill the cache nor count hits, as upstream on :9292; prefetching still caches', async () => {
    const id = await activeImage(admin, plainCall);
    const listing = async () => (await plainCall(admin, 'GET', '/v2/cache')).json as CacheState;
    const fetchWhole = async () =>
      Buffer.from(
        await (
          await fetch(`${plain.base}/v2/images/${id}/file`, { headers: { 'X-Auth-Token': admin.token } })
        ).arrayBuffer(),
      );
    expect((await fetchWhole()).equals(DATA)).toBe(true);
    expect((await listing()).cached_images).toEqual([]);

    expect((await plainCall(admin, 'PUT', `/v2/cache/${id}`)).status).toBe(202);
    const deadline = Date.now() + 60_000;
    while (!(await listing()).cached_images.some((c) => c.image_id === id)) {
      if (Date.now() > deadline) throw new Error(`not prefetched:\n${plain.logs.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect((await fetchWhole()).equals(DATA)).toBe(true);
    expect((await listing()).cached_images).toEqual([expect.objectContaining({ image_id: id, hits: 0 })]);
  }, 120_000);
});
