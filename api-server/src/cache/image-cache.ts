import { pipeline } from 'node:stream';
import type { Logger } from 'pino';
import type { ImageRecord } from '../domain/types.js';
import type { ByteRange } from '../store/store.js';
import { CacheDirectory } from './cache-directory.js';
import { CacheFill } from './cache-fill.js';
import type { CacheSettings } from './settings.js';

/** The image cache of one server process: its directory, shared with the other workers, and its settings. */
export class ImageCache {
  readonly dir: CacheDirectory;

  constructor(
    readonly settings: CacheSettings,
    private readonly log: Logger,
  ) {
    this.dir = new CacheDirectory(settings.dir);
  }

  get servesDownloads(): boolean {
    return this.settings.servesDownloads;
  }

  /** The cached data of an active image (or `range` of it), ready for sendBody; null on a miss. */
  async read(image: ImageRecord, range?: ByteRange): Promise<NodeJS.ReadableStream | null> {
    if (image.status !== 'active') return null;
    return this.dir.read(image.id, range);
  }

  /** One download served from the cache. */
  async recordHit(imageId: string): Promise<void> {
    await this.dir.recordHit(imageId).catch((err: unknown) => {
      this.log.warn({ imageId, err }, 'could not count an image cache hit');
    });
  }

  /**
   * `data` (the whole image, read from its store) teed into the cache while it streams; `data` itself when the
   * image cannot be cached now (not active, already cached, or another request or worker is caching it).
   */
  async fill(image: ImageRecord, data: NodeJS.ReadableStream, log: Logger): Promise<NodeJS.ReadableStream> {
    if (image.status !== 'active') return data;
    const file = await this.dir.beginWrite(image.id).catch((err: unknown) => {
      log.warn({ imageId: image.id, err }, 'cannot write to the image cache; serving without caching');
      return null;
    });
    if (file === null) return data;
    const fill = new CacheFill(
      this.dir,
      { id: image.id, checksum: image.checksum, size: image.size },
      file,
      log,
      () => void this.prune(),
    );
    // Either side failing tears both down: a store error abandons the file, a client gone closes the store read.
    return pipeline(data, fill, () => undefined);
  }

  /** The image is gone (deleted or deactivated): its cached data and any queue entry go too. */
  async forget(imageId: string): Promise<void> {
    await this.dir.remove(imageId);
    await this.dir.dequeue(imageId);
  }

  async prune(): Promise<void> {
    try {
      const pruned = await this.dir.prune(this.settings.maxSize);
      if (pruned.images > 0)
        this.log.info({ ...pruned, maxSize: this.settings.maxSize }, 'image cache pruned');
    } catch (err) {
      this.log.warn({ err }, 'pruning the image cache failed');
    }
  }

  /** The cleaner, then the pruner, as upstream's periodic cache jobs. */
  async tidy(): Promise<void> {
    try {
      await this.dir.clean(this.settings.stallTimeMs);
    } catch (err) {
      this.log.warn({ err }, 'cleaning the image cache failed');
    }
    await this.prune();
  }
}
