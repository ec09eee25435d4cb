import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ChunkedImageWriter, type ImageWriteTarget } from '../../../../api-server/src/store/rbd-writer.js';

/** An in-memory image that behaves like librbd: writes past the end fail, and it records what was asked of it. */
class MemoryImage implements ImageWriteTarget {
  bytes = Buffer.alloc(0);
  readonly resizes: number[] = [];
  readonly writes: Array<{ offset: number; length: number }> = [];
  inflight = 0;
  maxInflight = 0;
  settledWrites = 0;
  failAt: number | null = null;

  async write(data: Buffer, offset: number): Promise<void> {
    this.writes.push({ offset, length: data.length });
    this.inflight++;
    this.maxInflight = Math.max(this.maxInflight, this.inflight);
    // Completions arrive out of order, as they do from RADOS.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
    this.inflight--;
    this.settledWrites++;
    if (offset === this.failAt) throw new Error('EIO from the cluster');
    if (offset + data.length > this.bytes.length) throw new Error('write past the end of the image');
    data.copy(this.bytes, offset);
  }

  async resize(size: number): Promise<void> {
    this.resizes.push(size);
    const bytes = Buffer.alloc(size);
    this.bytes.copy(bytes, 0, 0, Math.min(size, this.bytes.length));
    this.bytes = bytes;
  }
}

function pieces(data: Buffer, size: number): Readable {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return Readable.from(out);
}

const CHUNK = 16;

describe('ChunkedImageWriter', () => {
  it('writes chunk-size pieces at chunk-aligned offsets and ends with an image exactly the size of the data', async () => {
    const image = new MemoryImage();
    const data = randomBytes(5 * CHUNK + 3);
    const writer = new ChunkedImageWriter(image, {
      chunkSize: CHUNK,
      depth: 3,
      thinProvisioning: false,
      declaredSize: null,
    });

    await pipeline(pieces(data, 7), writer);

    expect(image.bytes.equals(data)).toBe(true);
    expect(writer.bytesWritten).toBe(data.length);
    expect(image.writes.map((w) => w.offset).sort((a, b) => a - b)).toEqual([0, 16, 32, 48, 64, 80]);
    expect(image.writes.every((w) => w.length === CHUNK || w.offset === 80)).toBe(true);
  });

  it("grows the image like upstream's resize-on-write (one chunk, then doubling steps) and trims it at the end", async () => {
    const image = new MemoryImage();
    const writer = new ChunkedImageWriter(image, {
      chunkSize: CHUNK,
      depth: 2,
      thinProvisioning: false,
      declaredSize: null,
    });

    await pipeline(pieces(randomBytes(20 * CHUNK + 1), 100), writer);

    // 1, 1+2, 3+4, 7+8 and 15+16 chunks, then the trim.
    expect(image.resizes).toEqual([16, 48, 112, 240, 496, 20 * CHUNK + 1]);
  });

  it('with a declared size, writes into the image as created and never resizes it', async () => {
    const image = new MemoryImage();
    const data = randomBytes(7 * CHUNK + 2);
    await image.resize(data.length);
    image.resizes.length = 0;
    const writer = new ChunkedImageWriter(image, {
      chunkSize: CHUNK,
      depth: 3,
      thinProvisioning: false,
      declaredSize: data.length,
    });

    await pipeline(pieces(data, 10), writer);

    expect(image.bytes.equals(data)).toBe(true);
    expect(image.resizes).toEqual([]);
  });

  it('with a declared size, fails when the data ends short of it', async () => {
    const image = new MemoryImage();
    await image.resize(4 * CHUNK);
    const writer = new ChunkedImageWriter(image, {
      chunkSize: CHUNK,
      depth: 3,
      thinProvisioning: false,
      declaredSize: 4 * CHUNK,
    });
    await expect(pipeline(pieces(randomBytes(3 * CHUNK), 10), writer)).rejects.toThrow(
      'the image data was 48 bytes long, not the 64 declared',
    );
  });

  it('with a declared size, fails as soon as the data runs past it', async () => {
    const image = new MemoryImage();
    await image.resize(2 * CHUNK);
    const writer = new ChunkedImageWriter(image, {
      chunkSize: CHUNK,
      depth: 3,
      thinProvisioning: false,
      declaredSize: 2 * CHUNK,
    });
    await expect(pipeline(pieces(randomBytes(10 * CHUNK), 10), writer)).rejects.toThrow(
      'the image data is longer than the 32 bytes declared',
    );
    expect(image.writes.map((w) => w.offset)).toEqual([0, 16]);
  });

  it('trims an empty upload to size 0 without writing', async () => {
    const image = new MemoryImage();
    const writer = new ChunkedImageWriter(image, {
      chunkSize: CHUNK,
      depth: 2,
      thinProvisioning: false,
      declaredSize: null,
    });
    await pipeline(Readable.from([]), writer);
    expect(image.writes).toEqual([]);
    expect(image.resizes).toEqual([0]);
    expect(writer.bytesWritten).toBe(0);
  });

  it('keeps at most `depth` writes in flight', async () => {
    const image = new MemoryImage();
    const writer = new ChunkedImageWriter(image, {
      chunkSize: CHUNK,
      depth: 3,
      thinProvisioning: false,
      declaredSize: null,
    });
    await pipeline(pieces(randomBytes(40 * CHUNK), CHUNK * 4), writer);
    expect(image.maxInflight).toBe(3);
  });

  it('with thin provisioning, skips chunks that are all zeros and still reads back the same bytes', async () => {
    const image = new MemoryImage();
    const data = Buffer.concat([Buffer.alloc(2 * CHUNK), randomBytes(CHUNK), Buffer.alloc(CHUNK + 5)]);
    const writer = new ChunkedImageWriter(image, {
      chunkSize: CHUNK,
      depth: 2,
      thinProvisioning: true,
      declaredSize: null,
    });

    await pipeline(pieces(data, 5), writer);

    expect(image.writes.map((w) => w.offset)).toEqual([32]);
    expect(image.bytes.equals(data)).toBe(true);
  });

  it('fails with the cluster error of a failed write, and has no write in flight once it has closed', async () => {
    const image = new MemoryImage();
    image.failAt = 2 * CHUNK;
    const writer = new ChunkedImageWriter(image, {
      chunkSize: CHUNK,
      depth: 4,
      thinProvisioning: false,
      declaredSize: null,
    });

    await expect(pipeline(pieces(randomBytes(50 * CHUNK), CHUNK), writer)).rejects.toThrow(
      'EIO from the cluster',
    );
    if (!writer.closed) await new Promise((resolve) => writer.once('close', resolve));

    expect(image.inflight).toBe(0);
    expect(image.settledWrites).toBe(image.writes.length);
    // It stopped soon after the failure rather than writing the whole stream.
    expect(image.writes.length).toBeLessThan(10);
  });

  it('when the source fails, issues no more writes and closes only after those in flight have settled', async () => {
    const image = new MemoryImage();
    const writer = new ChunkedImageWriter(image, {
      chunkSize: CHUNK,
      depth: 4,
      thinProvisioning: false,
      declaredSize: null,
    });
    let sent = 0;
    const source = new Readable({
      read(): void {
        if (sent === 6) this.destroy(new Error('client went away'));
        else this.push(randomBytes(CHUNK + sent++));
      },
    });

    await expect(pipeline(source, writer)).rejects.toThrow('client went away');
    if (!writer.closed) await new Promise((resolve) => writer.once('close', resolve));
    const issued = image.writes.length;
    await new Promise((resolve) => setTimeout(resolve, 20));

    expect(image.inflight).toBe(0);
    expect(image.writes.length).toBe(issued);
  });
});
