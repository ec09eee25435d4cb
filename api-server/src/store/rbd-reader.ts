import { Readable } from 'node:stream';

/** Where the reader gets bytes: an open RBD image (snapshot), in production. */
export interface ImageReadSource {
  /** Fills `into` from `offset`; resolves with the number of bytes read. */
  read(into: Buffer, offset: number): Promise<number>;
  close(): Promise<void>;
}

export interface ChunkedReaderOptions {
  /** First byte to read. */
  start: number;
  /** One past the last byte to read. */
  end: number;
  /** rbd_store_chunk_size in bytes: reads stop at multiples of it, so each one stays within one RADOS object. */
  chunkSize: number;
  /** How many reads may be in flight ahead of the consumer. */
  depth: number;
}

/**
 * Streams bytes [start, end) of an image in order while up to `depth` chunk reads run ahead, so the cluster works
 * on the next chunks while the consumer (an HTTP response) takes the current one. Memory stays within `depth` + 1
 * chunks. The source is closed when the stream is destroyed (which also happens after it ends), once no read is
 * in flight.
 */
export class ChunkedImageReader extends Readable {
  readonly #source: ImageReadSource;
  readonly #end: number;
  readonly #chunkSize: number;
  readonly #depth: number;
  readonly #ahead: Promise<Buffer>[] = [];
  readonly #inflight = new Set<Promise<unknown>>();
  #next: number;
  #pumping = false;

  constructor(source: ImageReadSource, options: ChunkedReaderOptions) {
    // One chunk waits for the consumer at most; the read-ahead is what keeps the cluster busy.
    super({ highWaterMark: options.chunkSize });
    this.#source = source;
    this.#next = options.start;
    this.#end = options.end;
    this.#chunkSize = options.chunkSize;
    this.#depth = options.depth;
  }

  override _read(): void {
    void this.#pump();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    void (async () => {
      while (this.#inflight.size > 0) await Promise.allSettled(this.#inflight);
      // Closing a read-only image has nothing to lose; an error here must not replace the stream's outcome.
      await this.#source.close().catch(() => undefined);
      callback(error);
    })();
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      for (;;) {
        this.#readAhead();
        const head = this.#ahead.shift();
        if (head === undefined) {
          this.push(null);
          return;
        }
        const chunk = await head;
        if (this.destroyed || !this.push(chunk)) return;
      }
    } catch (error) {
      this.destroy(error as Error);
    } finally {
      this.#pumping = false;
    }
  }

  #readAhead(): void {
    while (this.#ahead.length < this.#depth && this.#next < this.#end) {
      const offset = this.#next;
      const length = Math.min(this.#chunkSize - (offset % this.#chunkSize), this.#end - offset);
      this.#next += length;
      const buffer = Buffer.allocUnsafe(length);
      const read = this.#source.read(buffer, offset).then((n) => {
        if (n !== length) throw new Error(`short read from RBD image: ${n} of ${length} bytes at ${offset}`);
        return buffer;
      });
      const forget = (): void => {
        this.#inflight.delete(settled);
      };
      const settled: Promise<void> = read.then(forget, forget);
      this.#inflight.add(settled);
      this.#ahead.push(read);
    }
  }
}
