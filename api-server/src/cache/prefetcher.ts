import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import type { ImageRepository } from '../db/image-repo.js';
import { readLocations } from '../store/read-locations.js';
import type { StoreRegistry } from '../store/registry.js';
import type { ImageCache } from './image-cache.js';
import { dueForPrefetch } from './lru.js';

const discard = (): Writable =>
  new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });

/**
 * Fetches queued images into the cache every cache_prefetcher_interval (Glance 2023.1's periodic job; Glance 25
 * fetched at once from the PUT, so a just-queued image could already be gone from queued_images). Each worker
 * process runs one; the exclusive incomplete/ file makes sure only one of them fetches a given image. After each
 * round the cleaner and pruner run.
 */
export class Prefetcher {
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  readonly #abort = new AbortController();

  constructor(
    private readonly cache: ImageCache,
    private readonly images: ImageRepository,
    private readonly stores: StoreRegistry,
    private readonly log: Logger,
  ) {}

  start(): void {
    const interval = this.cache.settings.prefetchIntervalMs;
    this.#timer = setInterval(() => {
      if (this.#running === null) this.#running = this.run().finally(() => (this.#running = null));
    }, interval);
    this.#timer.unref();
  }

  /** Stops the schedule; a fetch in progress is abandoned (its incomplete file moves to invalid/). */
  async stop(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#abort.abort();
    await this.#running;
  }

  /** One round: every image queued for at least one interval, oldest first. */
  async run(now = Date.now()): Promise<void> {
    try {
      const due = dueForPrefetch(
        await this.cache.dir.queuedEntries(),
        now,
        this.cache.settings.prefetchIntervalMs,
      );
      for (const id of due) if (!this.#abort.signal.aborted) await this.fetch(id);
    } catch (err) {
      this.log.warn({ err }, 'image cache prefetch round failed');
    }
    await this.cache.tidy();
  }

  /** Upstream's fetch_image_into_cache: an image that is not active stays queued (and is retried). */
  async fetch(id: string): Promise<void> {
    const log = this.log.child({ imageId: id });
    const image = await this.images.get(id);
    if (image === null) {
      // Deleted images can never become active again; upstream would retry them forever.
      log.warn('queued image not found: removed from the cache queue');
      await this.cache.dir.dequeue(id);
      return;
    }
    if (image.status !== 'active') {
      log.warn({ status: image.status }, 'queued image is not active: not caching');
      return;
    }
    if (await this.cache.dir.isCached(id)) {
      await this.cache.dir.dequeue(id);
      return;
    }
    // Another worker is fetching it, or a download is filling it.
    if (await this.cache.dir.isBeingCached(id)) return;
    try {
      const data = await readLocations(
        this.stores,
        image.locations.filter((l) => l.status === 'active'),
      );
      // The fill names the image in its own log lines.
      await pipeline(await this.cache.fill(image, data, this.log), discard(), { signal: this.#abort.signal });
    } catch (err) {
      log.warn({ err }, 'prefetching the image failed; it stays queued');
    }
  }
}
