import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { CacheDirectory } from '../../../../api-server/src/cache/cache-directory.js';

const ID = '11111111-2222-3333-4444-555555555555';
const OTHER = '66666666-7777-8888-9999-000000000000';

let root: string;
let dir: CacheDirectory;

beforeEach(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'glance-cache-'));
  dir = new CacheDirectory(root);
  await dir.prepare();
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Caches `data` for `id` the way a fill does: incomplete/ first, then the commit. */
async function cache(id: string, data: string): Promise<void> {
  const file = await dir.beginWrite(id);
  if (file === null) throw new Error('expected to be able to cache');
  await file.write(data);
  await file.close();
  await dir.commit(id);
}

test('prepare creates upstream’s layout: incomplete/, invalid/ and queue/ beside the image files', () => {
  expect(readdirSync(root).sort()).toEqual(expect.arrayContaining(['incomplete', 'invalid', 'queue']));
});

test('queueing: once, and never for an image already cached or being cached', async () => {
  expect(await dir.enqueue(ID)).toBe(true);
  expect(await dir.enqueue(ID)).toBe(false);
  expect(await dir.queued()).toEqual([ID]);
  expect(readdirSync(path.join(root, 'queue'))).toEqual([ID]);

  const file = await dir.beginWrite(OTHER);
  expect(await dir.enqueue(OTHER)).toBe(false);
  await file?.close();
  await dir.commit(OTHER);
  expect(await dir.enqueue(OTHER)).toBe(false);
});

test('queued images are listed oldest first', async () => {
  await dir.enqueue(ID);
  await dir.enqueue(OTHER);
  utimesSync(path.join(root, 'queue', ID), new Date(2_000_000), new Date(2_000_000));
  utimesSync(path.join(root, 'queue', OTHER), new Date(1_000_000), new Date(1_000_000));
  expect(await dir.queued()).toEqual([OTHER, ID]);
});

test('only one writer may cache an image; the commit makes it appear whole and leaves the queue', async () => {
  await dir.enqueue(ID);
  const first = await dir.beginWrite(ID);
  expect(first).not.toBeNull();
  expect(await dir.beginWrite(ID)).toBeNull();
  expect(await dir.isBeingCached(ID)).toBe(true);
  expect(await dir.isCached(ID)).toBe(false);
  await first?.write('hello');
  await first?.close();
  await dir.commit(ID);
  expect(await dir.isCached(ID)).toBe(true);
  expect(await dir.isBeingCached(ID)).toBe(false);
  expect(await dir.queued()).toEqual([]);
  expect(await dir.beginWrite(ID)).toBeNull();
  const [entry] = await dir.cached();
  expect(entry).toMatchObject({ image_id: ID, hits: 0, size: 5 });
  expect(entry?.last_accessed).toBeGreaterThan(0);
});

test('hits and the last access are counted per image, across any number of recorders', async () => {
  await cache(ID, 'abc');
  await Promise.all([dir.recordHit(ID), dir.recordHit(ID), dir.recordHit(ID)]);
  const [entry] = await dir.cached();
  expect(entry?.hits).toBe(3);
  expect(entry?.last_accessed).toBeGreaterThanOrEqual(entry?.last_modified ?? Infinity);
});

test('a recached image starts with no hits', async () => {
  await cache(ID, 'abc');
  await dir.recordHit(ID);
  await dir.remove(ID);
  await cache(ID, 'abc');
  expect((await dir.cached())[0]?.hits).toBe(0);
});

test('reads serve the cached bytes, or a range of them, and miss for what is not cached', async () => {
  await cache(ID, '0123456789');
  const whole = await dir.read(ID);
  expect(whole && (await text(whole as NodeJS.ReadableStream & AsyncIterable<Buffer>))).toBe('0123456789');
  const part = await dir.read(ID, { start: 2, end: 4 });
  expect(part && (await text(part as NodeJS.ReadableStream & AsyncIterable<Buffer>))).toBe('234');
  expect(await dir.read(OTHER)).toBeNull();
});

test('names that are not plain file names never reach the file system', async () => {
  writeFileSync(path.join(root, 'queue', 'secret'), '');
  for (const bad of ['../queue/secret', '.', '..', '', 'a/b']) {
    expect(await dir.enqueue(bad)).toBe(false);
    expect(await dir.isCached(bad)).toBe(false);
    expect(await dir.read(bad)).toBeNull();
    await dir.remove(bad);
  }
  expect(readdirSync(path.join(root, 'queue'))).toEqual(['secret']);
});

test('removal: one image with its hits, or everything, counting what went', async () => {
  await cache(ID, 'a');
  await cache(OTHER, 'b');
  await dir.recordHit(ID);
  await dir.remove(ID);
  expect((await dir.cached()).map((c) => c.image_id)).toEqual([OTHER]);
  expect(readdirSync(path.join(root, 'hits'))).toEqual([OTHER]);
  expect(await dir.removeAll()).toBe(1);
  expect(await dir.cached()).toEqual([]);
  await dir.enqueue(ID);
  await dir.enqueue(OTHER);
  expect(await dir.dequeueAll()).toBe(2);
  expect(await dir.queued()).toEqual([]);
});

test('an abandoned fetch moves to invalid/, which the cleaner empties with stalled incomplete files', async () => {
  const failed = await dir.beginWrite(ID);
  await failed?.close();
  await dir.abandon(ID);
  expect(readdirSync(path.join(root, 'invalid'))).toEqual([ID]);
  expect(await dir.isBeingCached(ID)).toBe(false);

  const stalled = await dir.beginWrite(OTHER);
  await stalled?.close();
  const now = Date.now();
  await dir.clean(60_000, now);
  expect(readdirSync(path.join(root, 'invalid'))).toEqual([]);
  expect(readdirSync(path.join(root, 'incomplete'))).toEqual([OTHER]);
  await dir.clean(60_000, now + 120_000);
  expect(readdirSync(path.join(root, 'incomplete'))).toEqual([]);
});

test('pruning removes the least recently used images until the cache fits its maximum size', async () => {
  await cache(ID, 'x'.repeat(100));
  await cache(OTHER, 'y'.repeat(100));
  // ID was used last, so OTHER goes first.
  utimesSync(path.join(root, 'hits', OTHER), new Date(1_000_000), new Date(1_000_000));
  await dir.recordHit(ID);
  expect(await dir.prune(200)).toEqual({ images: 0, bytes: 0 });
  expect(await dir.prune(150)).toEqual({ images: 1, bytes: 100 });
  expect((await dir.cached()).map((c) => c.image_id)).toEqual([ID]);
  expect(await dir.prune(0)).toEqual({ images: 1, bytes: 100 });
  expect(await dir.cached()).toEqual([]);
});
