import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LimitExceeded } from '../../../../api-server/src/domain/errors.js';
import { answered } from '../domain/helpers.js';
import { StoreError } from '../../../../api-server/src/store/errors.js';
import { FileStore } from '../../../../api-server/src/store/file-store.js';
import { limitSize } from '../../../../api-server/src/store/limit.js';

const ID = '2f1a3cbb-6a4f-4b7e-9a55-1b8cf7d2e001';
let root: string;
let datadir: string;
let store: FileStore;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'file-store-'));
  datadir = path.join(root, 'images');
  store = new FileStore({ datadir });
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function chunked(data: Buffer, size = 65536): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) chunks.push(data.subarray(i, i + size));
  return Readable.from(chunks);
}

describe('FileStore', () => {
  it('stores at <datadir>/<id> with a file:// location and reads it back', async () => {
    const data = randomBytes(300_000);
    const stored = await store.add(ID, chunked(data));
    expect(stored).toEqual({ location: `file://${datadir}/${ID}`, size: 300_000 });
    expect((await readFile(path.join(datadir, ID))).equals(data)).toBe(true);
    expect((await readAll(await store.get(stored.location))).equals(data)).toBe(true);
    expect(await store.size(stored.location)).toBe(300_000);
  });

  it('stores an empty upload as an empty file of size 0', async () => {
    const stored = await store.add(ID, Readable.from([]));
    expect(stored.size).toBe(0);
    expect(await store.size(stored.location)).toBe(0);
  });

  it('spells locations like os.path.join when the datadir ends with a slash', async () => {
    const slashed = new FileStore({ datadir: `${datadir}/` });
    const stored = await slashed.add(ID, Readable.from([Buffer.from('x')]));
    expect(stored.location).toBe(`file://${datadir}/${ID}`);
  });

  it('serves inclusive byte ranges', async () => {
    const data = Buffer.from('0123456789abcdef');
    const { location } = await store.add(ID, Readable.from([data]));
    expect((await readAll(await store.get(location, { start: 2, end: 5 }))).toString()).toBe('2345');
    expect((await readAll(await store.get(location, { start: 15, end: 15 }))).toString()).toBe('f');
    expect((await readAll(await store.get(location, { start: 10, end: 15 }))).toString()).toBe('abcdef');
  });

  it('refuses to overwrite existing data and leaves it intact', async () => {
    const { location } = await store.add(ID, Readable.from([Buffer.from('first')]));
    const err = await store.add(ID, Readable.from([Buffer.from('second')])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect(err).toMatchObject({ kind: 'duplicate', message: `Image ${datadir}/${ID} already exists` });
    expect((await readAll(await store.get(location))).toString()).toBe('first');
  });

  it('removes the partial file when the upload fails mid-stream', async () => {
    const source = new Readable({ read: () => undefined });
    const adding = store.add(ID, source);
    source.push(randomBytes(100_000));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(existsSync(path.join(datadir, ID))).toBe(true);
    source.destroy(new Error('connection reset'));
    await expect(adding).rejects.toThrow('connection reset');
    expect(await readdir(datadir)).toEqual([]);
  });

  it('removes the partial file when the client goes away without an error', async () => {
    const source = new Readable({ read: () => undefined });
    const adding = store.add(ID, source);
    source.push(randomBytes(100_000));
    await new Promise((resolve) => setTimeout(resolve, 50));
    source.destroy();
    await expect(adding).rejects.toThrow();
    expect(await readdir(datadir)).toEqual([]);
  });

  it('removes the partial file and keeps the 413 when the size limit trips', async () => {
    const limited = limitSize(200_000);
    const feeding = pipeline(chunked(randomBytes(300_000)), limited).catch(() => undefined);
    const err = await store.add(ID, limited).catch((e: unknown) => e);
    await feeding;
    expect(err).toBeInstanceOf(LimitExceeded);
    expect(answered(err).status).toBe(413);
    expect(await readdir(datadir)).toEqual([]);
  });

  it('deletes data, and deleting missing data is fine', async () => {
    const { location } = await store.add(ID, Readable.from([Buffer.from('bye')]));
    await store.delete(location);
    expect(existsSync(path.join(datadir, ID))).toBe(false);
    await expect(store.delete(location)).resolves.toBeUndefined();
  });

  it('reports missing data as not found', async () => {
    const location = `file://${datadir}/${ID}`;
    await expect(store.get(location)).rejects.toMatchObject({ kind: 'not-found' });
    await expect(store.size(location)).rejects.toMatchObject({
      kind: 'not-found',
      message: `Image ${datadir}/${ID} not found`,
    });
  });

  it('accepts upstream filesystem:// locations', async () => {
    await store.add(ID, Readable.from([Buffer.from('abc')]));
    expect(await store.size(`filesystem://${datadir}/${ID}`)).toBe(3);
  });

  it('never reads or deletes files outside its datadir', async () => {
    const outside = path.join(root, 'secret');
    await writeFile(outside, 'do not serve');
    for (const location of [`file://${outside}`, `file://${datadir}/../secret`, `swift://${datadir}/${ID}`]) {
      await expect(store.get(location)).rejects.toMatchObject({ kind: 'bad-location' });
      await expect(store.delete(location)).rejects.toMatchObject({ kind: 'bad-location' });
    }
    expect(existsSync(outside)).toBe(true);
  });

  it('refuses image ids that are not plain file names', async () => {
    for (const id of ['../escape', 'a/b', '..', '']) {
      await expect(store.add(id, Readable.from([Buffer.from('x')]))).rejects.toThrow(/not a plain file name/);
    }
    expect(existsSync(path.join(root, 'escape'))).toBe(false);
  });
});
