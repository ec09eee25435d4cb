import { randomBytes } from 'node:crypto';
import { PassThrough, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ChunkedImageReader, type ImageReadSource } from '../../../../api-server/src/store/rbd-reader.js';

/** An in-memory image whose reads complete out of order, as AIO completions from RADOS do. */
class MemorySnapshot implements ImageReadSource {
  readonly reads: Array<{ offset: number; length: number }> = [];
  inflight = 0;
  maxInflight = 0;
  closes = 0;
  inflightAtClose: number | null = null;
  failAt: number | null = null;

  constructor(readonly bytes: Buffer) {}

  async read(into: Buffer, offset: number): Promise<number> {
    this.reads.push({ offset, length: into.length });
    this.inflight++;
    this.maxInflight = Math.max(this.maxInflight, this.inflight);
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
    this.inflight--;
    if (offset === this.failAt) throw new Error('EIO from the cluster');
    return this.bytes.copy(into, 0, offset, offset + into.length);
  }

  async close(): Promise<void> {
    this.closes++;
    this.inflightAtClose = this.inflight;
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function closed(stream: ChunkedImageReader): Promise<unknown> {
  return stream.closed ? Promise.resolve() : new Promise((resolve) => stream.once('close', resolve));
}

const CHUNK = 16;

describe('ChunkedImageReader', () => {
  it('streams the whole image in order and closes it once', async () => {
    const data = randomBytes(10 * CHUNK + 9);
    const snap = new MemorySnapshot(data);
    const reader = new ChunkedImageReader(snap, { start: 0, end: data.length, chunkSize: CHUNK, depth: 4 });

    expect((await readAll(reader)).equals(data)).toBe(true);
    await closed(reader);
    expect(snap.closes).toBe(1);
    expect(snap.maxInflight).toBeGreaterThan(1);
    expect(snap.maxInflight).toBeLessThanOrEqual(4);
  });

  it('serves an unaligned range with reads that never cross a chunk boundary', async () => {
    const data = randomBytes(6 * CHUNK);
    const snap = new MemorySnapshot(data);
    const reader = new ChunkedImageReader(snap, { start: 5, end: 4 * CHUNK + 3, chunkSize: CHUNK, depth: 2 });

    expect((await readAll(reader)).equals(data.subarray(5, 4 * CHUNK + 3))).toBe(true);
    expect(snap.reads).toEqual([
      { offset: 5, length: 11 },
      { offset: 16, length: 16 },
      { offset: 32, length: 16 },
      { offset: 48, length: 16 },
      { offset: 64, length: 3 },
    ]);
  });

  it('ends at once for an empty range and still closes the image', async () => {
    const snap = new MemorySnapshot(Buffer.alloc(0));
    const reader = new ChunkedImageReader(snap, { start: 0, end: 0, chunkSize: CHUNK, depth: 2 });
    expect((await readAll(reader)).length).toBe(0);
    await closed(reader);
    expect(snap.closes).toBe(1);
  });

  it('fails the stream on a read error and closes the image after reads in flight settle', async () => {
    const snap = new MemorySnapshot(randomBytes(20 * CHUNK));
    snap.failAt = 3 * CHUNK;
    const reader = new ChunkedImageReader(snap, { start: 0, end: 20 * CHUNK, chunkSize: CHUNK, depth: 4 });

    await expect(readAll(reader)).rejects.toThrow('EIO from the cluster');
    await closed(reader);
    expect(snap.closes).toBe(1);
    expect(snap.inflightAtClose).toBe(0);
  });

  it('does not read further ahead than `depth` chunks of a consumer that stopped reading', async () => {
    const snap = new MemorySnapshot(randomBytes(100 * CHUNK));
    const reader = new ChunkedImageReader(snap, { start: 0, end: 100 * CHUNK, chunkSize: CHUNK, depth: 3 });
    const stalled = new PassThrough({ highWaterMark: 1 });
    reader.pipe(stalled);
    await new Promise((resolve) => setTimeout(resolve, 50));

    // One chunk in each stream's buffer at most, plus the read-ahead.
    expect(snap.reads.length).toBeLessThanOrEqual(3 + 3);
    reader.destroy();
    await closed(reader);
    expect(snap.closes).toBe(1);
    expect(snap.inflightAtClose).toBe(0);
  });

  it('delivers every byte to a slow consumer', async () => {
    const data = randomBytes(12 * CHUNK + 1);
    const snap = new MemorySnapshot(data);
    const reader = new ChunkedImageReader(snap, { start: 0, end: data.length, chunkSize: CHUNK, depth: 3 });
    const got: Buffer[] = [];
    const slow = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _encoding, callback): void {
        got.push(chunk);
        setTimeout(callback, 2);
      },
    });
    await pipeline(reader, slow);
    expect(Buffer.concat(got).equals(data)).toBe(true);
  });
});
