import { Writable } from 'node:stream';

// glance_store's cap on how much one resize grows an image of unknown size.
const MAX_GROWTH = 8 * 1024 ** 3;

/** Where the writer puts bytes: an open RBD image, in production. */
export interface ImageWriteTarget {
  /** The target owns `data` until the promise settles. */
  write(data: Buffer, offset: number): Promise<void>;
  resize(size: number): Promise<void>;
}

export interface ChunkedWriterOptions {
  /** rbd_store_chunk_size in bytes: every write but the last is this long and starts at a multiple of it. */
  chunkSize: number;
  /** How many writes may be in flight at once. */
  depth: number;
  /** rbd_thin_provisioning: chunks of zeros are not written, leaving holes that read back as zeros. */
  thinProvisioning: boolean;
  /** The size the image was created with when the upload declared it; null when unknown (image created empty). */
  declaredSize: number | null;
}

/**
 * Writes a byte stream into an RBD image as glance_store's rbd add() does: chunk-size writes at increasing offsets.
 * When the size was declared, the image already has it and is never resized (the data must then be exactly that
 * long). When it was not, before a write that would pass the end of the image the image grows by a step that
 * starts at one chunk and doubles up to 8 GiB, and at the end it is trimmed to the bytes written. Upstream waits
 * for each write before reading the next chunk; here `depth` writes overlap, which is what lets a single upload
 * keep the cluster busy. A write may finish after the stream has failed, so destroy() waits for every write in
 * flight: once the stream has emitted 'close', the image can be closed or removed.
 */
export class ChunkedImageWriter extends Writable {
  readonly #target: ImageWriteTarget;
  readonly #chunkSize: number;
  readonly #depth: number;
  readonly #zeros: Buffer | null;
  readonly #declaredSize: number | null;
  readonly #inflight = new Set<Promise<void>>();
  // Chunk buffers whose writes have completed. Reusing them keeps an upload to depth + 1 buffers that stay mapped,
  // instead of a fresh 8 MiB allocation (page faults, then garbage) per chunk.
  readonly #spare: Buffer[] = [];
  #failure: { error: unknown } | null = null;
  #step: Promise<unknown> = Promise.resolve();
  #chunk: Buffer | null = null;
  #filled = 0;
  #offset = 0;
  #imageSize: number;
  #growth: number;

  constructor(target: ImageWriteTarget, options: ChunkedWriterOptions) {
    super();
    this.#target = target;
    this.#chunkSize = options.chunkSize;
    this.#depth = options.depth;
    this.#growth = options.chunkSize;
    this.#declaredSize = options.declaredSize;
    this.#imageSize = options.declaredSize ?? 0;
    this.#zeros = options.thinProvisioning ? Buffer.alloc(options.chunkSize) : null;
  }

  /** The size of the data written, which is the image's size once the stream has finished. */
  get bytesWritten(): number {
    return this.#offset;
  }

  override _write(data: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#run(this.#take(data), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#run(this.#finish(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    void this.#step.then(() => this.#settled()).then(() => callback(error));
  }

  // A step may be waiting on a resize when the stream is destroyed: destroy waits for it too.
  #run(step: Promise<void>, callback: (error?: Error | null) => void): void {
    this.#step = step.catch(() => undefined);
    step.then(() => callback(), callback);
  }

  async #take(data: Buffer): Promise<void> {
    this.#throwFailure();
    for (let pos = 0; pos < data.length;) {
      this.#chunk ??= this.#spare.pop() ?? Buffer.allocUnsafe(this.#chunkSize);
      const copied = data.copy(this.#chunk, this.#filled, pos);
      pos += copied;
      this.#filled += copied;
      if (this.#filled === this.#chunkSize) await this.#submit();
    }
  }

  async #finish(): Promise<void> {
    this.#throwFailure();
    if (this.#filled > 0) await this.#submit();
    await this.#settled();
    this.#throwFailure();
    if (this.#declaredSize === null) {
      await this.#target.resize(this.#offset);
    } else if (this.#offset !== this.#declaredSize) {
      throw new Error(
        `the image data was ${this.#offset} bytes long, not the ${this.#declaredSize} declared`,
      );
    }
  }

  async #submit(): Promise<void> {
    const buffer = this.#chunk as Buffer;
    const chunk = buffer.subarray(0, this.#filled);
    const offset = this.#offset;
    this.#chunk = null;
    this.#filled = 0;
    this.#offset += chunk.length;
    if (this.#declaredSize !== null && this.#offset > this.#declaredSize) {
      throw new Error(`the image data is longer than the ${this.#declaredSize} bytes declared`);
    }
    // Every earlier write ended within the image, so one step (never smaller than a chunk) is always enough.
    if (this.#declaredSize === null && this.#imageSize < offset + chunk.length) {
      this.#imageSize += this.#growth;
      this.#growth = Math.min(this.#growth * 2, MAX_GROWTH);
      await this.#target.resize(this.#imageSize);
      this.#throwFailure();
    }
    if (this.#zeros === null || !chunk.equals(this.#zeros.subarray(0, chunk.length))) {
      this.#track(this.#target.write(chunk, offset), buffer);
    } else {
      this.#spare.push(buffer);
    }
    while (this.#inflight.size >= this.#depth) await Promise.race(this.#inflight);
    this.#throwFailure();
  }

  #track(write: Promise<void>, buffer: Buffer): void {
    const settled: Promise<void> = write.then(
      () => {
        this.#inflight.delete(settled);
        this.#spare.push(buffer);
      },
      (error: unknown) => {
        this.#inflight.delete(settled);
        this.#failure ??= { error };
      },
    );
    this.#inflight.add(settled);
  }

  async #settled(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.all(this.#inflight);
  }

  #throwFailure(): void {
    if (this.#failure) throw this.#failure.error;
    if (this.destroyed) throw new Error('the image data stream was destroyed');
  }
}
