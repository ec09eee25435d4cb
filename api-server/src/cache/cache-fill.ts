import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import type { Logger } from 'pino';
import type { CacheDirectory } from './cache-directory.js';

/** What the bytes must add up to before they may become a cache entry. */
export interface ExpectedImage {
  id: string;
  /** md5 of the whole image; null (an image without one) skips the check, as upstream does. */
  checksum: string | null;
  size: number | null;
}

/**
 * upstream's cache_tee_iter: passes the image through unchanged while writing it to incomplete/ and hashing it.
 * Only a stream that ends with the expected size and md5 is committed; a failure to write to the cache stops
 * caching but never the stream, and an early end (a client gone, a store error) abandons the file.
 */
export class CacheFill extends Transform {
  readonly #md5: Hash = createHash('md5');
  #bytes = 0;
  #file: FileHandle | null;
  #settled = false;
  // The last chunk is held back until the entry is settled, so that a client holding every byte of the image
  // already finds it in the cache listing.
  #held: Buffer | null = null;
  #resolveSettled: () => void = () => undefined;
  /** Resolves once the entry is committed or abandoned. */
  readonly settled = new Promise<void>((resolve) => (this.#resolveSettled = resolve));

  constructor(
    private readonly dir: CacheDirectory,
    private readonly expected: ExpectedImage,
    file: FileHandle,
    private readonly log: Logger,
    private readonly onCommit: () => void = () => undefined,
  ) {
    super();
    this.#file = file;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const file = this.#file;
    if (file === null) {
      this.#release();
      callback(null, chunk);
      return;
    }
    this.#md5.update(chunk);
    this.#bytes += chunk.length;
    file.write(chunk).then(
      () => {
        this.#release();
        this.#held = chunk;
        callback();
      },
      (err: unknown) => {
        this.log.warn({ imageId: this.expected.id, err }, 'writing to the image cache failed; not caching');
        void this.#settle(false);
        this.#release();
        callback(null, chunk);
      },
    );
  }

  override _flush(callback: TransformCallback): void {
    void this.#settle(true).finally(() => {
      this.#release();
      callback();
    });
  }

  #release(): void {
    if (this.#held !== null) this.push(this.#held);
    this.#held = null;
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    void this.#settle(false);
    callback(error);
  }

  async #settle(complete: boolean): Promise<void> {
    if (this.#settled) return;
    this.#settled = true;
    const file = this.#file;
    this.#file = null;
    const { id, checksum, size } = this.expected;
    try {
      if (file === null) return;
      await file.close();
      if (complete) {
        const md5 = this.#md5.digest('hex');
        if ((size === null || size === this.#bytes) && (checksum === null || checksum === md5)) {
          await this.dir.commit(id);
          this.log.info({ imageId: id, size: this.#bytes }, 'image cached');
          this.onCommit();
          return;
        }
        this.log.error(
          { imageId: id, size: this.#bytes, md5, checksum },
          'checksum verification failed: not cached',
        );
      }
      await this.dir.abandon(id);
    } catch (err) {
      this.log.warn({ imageId: id, err }, 'could not settle the image cache entry');
      await this.dir.abandon(id).catch(() => undefined);
    } finally {
      this.#resolveSettled();
    }
  }
}
