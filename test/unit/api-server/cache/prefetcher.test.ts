import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { ImageCache } from '../../../../api-server/src/cache/image-cache.js';
import { Prefetcher } from '../../../../api-server/src/cache/prefetcher.js';
import type { ImageRepository } from '../../../../api-server/src/db/image-repo.js';
import type { ImageRecord, ImageStatus } from '../../../../api-server/src/domain/types.js';
import { StoreRegistry } from '../../../../api-server/src/store/registry.js';

const ACTIVE = '11111111-1111-1111-1111-111111111111';
const SAVING = '22222222-2222-2222-2222-222222222222';
const DELETED = '33333333-3333-3333-3333-333333333333';
const DATA = randomBytes(200_000);
const INTERVAL_MS = 60_000;
const log = pino({ level: 'silent' });

let root: string;
let cache: ImageCache;
let prefetcher: Prefetcher;

function record(id: string, status: ImageStatus, datadir: string): ImageRecord {
  return {
    id,
    status,
    size: DATA.length,
    checksum: createHash('md5').update(DATA).digest('hex'),
    locations: [{ id: 1, url: `file://${datadir}/${id}`, metadata: {}, status: 'active' }],
  } as ImageRecord;
}

beforeEach(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'glance-prefetch-'));
  const datadir = path.join(root, 'images');
  mkdirSync(datadir);
  writeFileSync(path.join(datadir, ACTIVE), DATA);
  const rows = new Map([
    [ACTIVE, record(ACTIVE, 'active', datadir)],
    [SAVING, record(SAVING, 'saving', datadir)],
  ]);
  // The one repository call the prefetcher makes; the database itself is covered by the integration tests.
  const images = { get: (id: string) => Promise.resolve(rows.get(id) ?? null) } as unknown as ImageRepository;
  const stores = new StoreRegistry({
    multistore: false,
    defaultId: 'file',
    stores: [{ id: 'file', type: 'file', datadir }],
  });
  cache = new ImageCache(
    {
      dir: path.join(root, 'cache'),
      maxSize: 10 * 1024 ** 3,
      stallTimeMs: 86_400_000,
      prefetchIntervalMs: INTERVAL_MS,
      servesDownloads: false,
    },
    log,
  );
  await cache.dir.prepare();
  prefetcher = new Prefetcher(cache, images, stores, log);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

test('an image is fetched only once it has been queued for a whole interval', async () => {
  await cache.dir.enqueue(ACTIVE);
  await prefetcher.run(Date.now());
  expect(await cache.dir.queued()).toEqual([ACTIVE]);
  expect(await cache.dir.isCached(ACTIVE)).toBe(false);

  await prefetcher.run(Date.now() + INTERVAL_MS);
  expect(await cache.dir.queued()).toEqual([]);
  expect(readFileSync(path.join(root, 'cache', ACTIVE)).equals(DATA)).toBe(true);
});

test('an image that is not active stays queued; one that no longer exists leaves the queue', async () => {
  for (const id of [SAVING, DELETED]) await cache.dir.enqueue(id);
  const past = new Date(Date.now() - 2 * INTERVAL_MS);
  for (const id of [SAVING, DELETED]) utimesSync(path.join(root, 'cache', 'queue', id), past, past);
  await prefetcher.run();
  expect(await cache.dir.queued()).toEqual([SAVING]);
  expect(await cache.dir.cached()).toEqual([]);
});
