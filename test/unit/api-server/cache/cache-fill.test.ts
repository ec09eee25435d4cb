import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import pino from 'pino';
import { CacheDirectory } from '../../../../api-server/src/cache/cache-directory.js';
import { CacheFill } from '../../../../api-server/src/cache/cache-fill.js';

const ID = '11111111-2222-3333-4444-555555555555';
const DATA = randomBytes(300_000);
const MD5 = createHash('md5').update(DATA).digest('hex');
const log = pino({ level: 'silent' });

let root: string;
let dir: CacheDirectory;

beforeEach(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'glance-cache-fill-'));
  dir = new CacheDirectory(root);
  await dir.prepare();
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

async function fill(checksum: string | null, size: number | null): Promise<CacheFill> {
  const file = await dir.beginWrite(ID);
  if (file === null) throw new Error('expected to be able to cache');
  return new CacheFill(dir, { id: ID, checksum, size }, file, log);
}

const chunks = (data: Buffer): Readable =>
  Readable.from([data.subarray(0, 1000), data.subarray(1000, 100_000), data.subarray(100_000)]);

test('bytes pass unchanged and the whole image with its md5 becomes a cache entry', async () => {
  const tee = await fill(MD5, DATA.length);
  const out = buffer(tee);
  await pipeline(chunks(DATA), tee);
  expect((await out).equals(DATA)).toBe(true);
  expect(readFileSync(path.join(root, ID)).equals(DATA)).toBe(true);
  expect(readdirSync(path.join(root, 'incomplete'))).toEqual([]);
});

test('by the time the last byte is delivered, the image is already in the cache', async () => {
  const tee = await fill(MD5, DATA.length);
  let received = 0;
  let cachedAtLastByte: boolean | null = null;
  tee.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received === DATA.length) cachedAtLastByte = existsSync(path.join(root, ID));
  });
  await pipeline(chunks(DATA), tee);
  expect(cachedAtLastByte).toBe(true);
});

test('a checksum that does not match leaves the client its bytes but caches nothing', async () => {
  const tee = await fill('0'.repeat(32), DATA.length);
  const out = buffer(tee);
  await pipeline(chunks(DATA), tee);
  expect((await out).equals(DATA)).toBe(true);
  expect(await dir.isCached(ID)).toBe(false);
  expect(readdirSync(path.join(root, 'invalid'))).toEqual([ID]);
});

test('a short image is not cached even without a checksum', async () => {
  const tee = await fill(null, DATA.length + 1);
  const out = buffer(tee);
  await pipeline(chunks(DATA), tee);
  await out;
  expect(await dir.isCached(ID)).toBe(false);
});

test('a stream that fails half-way abandons the file', async () => {
  const tee = await fill(MD5, DATA.length);
  const source = new PassThrough();
  const done = pipeline(source, tee, new PassThrough().resume());
  source.write(DATA.subarray(0, 5000));
  source.destroy(new Error('store went away'));
  await expect(done).rejects.toThrow('store went away');
  await tee.settled;
  expect(await dir.isCached(ID)).toBe(false);
  expect(await dir.isBeingCached(ID)).toBe(false);
});
