import { readdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { GlanceConfig } from '../config/index.js';
import { FileStore } from '../store/file-store.js';
import { storeThrough, type IngestLimit } from '../store/ingest.js';
import { limitSize } from '../store/limit.js';
import type { StoredObject } from '../store/store.js';

// Staged data younger than this may belong to an import still running somewhere.
const RESIDUE_MIN_AGE_MS = 60 * 60 * 1000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The directory upstream stages import data in: the reserved os_glance_staging_store under enabled_backends,
 * else node_staging_uri.
 */
export function stagingDirectory(cfg: GlanceConfig): string {
  if (cfg.DEFAULT.enabled_backends) {
    return cfg.reserved_stores.os_glance_staging_store.filesystem_store_datadir;
  }
  return cfg.DEFAULT.node_staging_uri.slice('file://'.length);
}

/**
 * Staged image data: one file per image, `<dir>/<image id>`, the layout upstream's staging store uses, so an
 * image staged by one glance-api process can be imported by another on the same host.
 */
export class StagingArea {
  readonly #files: FileStore;
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
    this.#files = new FileStore({ datadir: dir });
  }

  location(imageId: string): string {
    return `file://${path.join(this.#dir, imageId)}`;
  }

  /**
   * Stores `data` for the image, refusing (StoreError 'duplicate') when something is already staged and
   * failing with the limit's LimitExceeded past `limit.bytes`; partial data is removed on failure.
   */
  write(imageId: string, data: NodeJS.ReadableStream, limit: IngestLimit): Promise<StoredObject> {
    return storeThrough(this.#files, imageId, data, [limitSize(limit.bytes, limit.explanation)]);
  }

  read(imageId: string): Promise<NodeJS.ReadableStream> {
    return this.#files.get(this.location(imageId));
  }

  size(imageId: string): Promise<number> {
    return this.#files.size(this.location(imageId));
  }

  /** Missing data is not an error. */
  remove(imageId: string): Promise<void> {
    return this.#files.delete(this.location(imageId));
  }

  /**
   * upstream's StagingStoreCleaner: data staged for images that no longer exist (deleted, or never created)
   * is removed; anything that is not named after an image is left alone. Unlike upstream, data written in the
   * last hour (an import lock's lifetime) is spared: it may belong to another server sharing the directory
   * whose database this one does not see.
   */
  async sweep(imageExists: (imageId: string) => Promise<boolean>, log: Logger): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.#dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    let cleaned = 0;
    for (const name of names) {
      const imageId = name.split('.', 1)[0] ?? '';
      if (!UUID.test(imageId)) continue;
      const file = path.join(this.#dir, name);
      const modified = await stat(file).then(
        (st) => st.mtimeMs,
        () => null,
      );
      if (modified === null || Date.now() - modified < RESIDUE_MIN_AGE_MS) continue;
      if (await imageExists(imageId)) continue;
      try {
        await unlink(file);
        cleaned += 1;
      } catch (err) {
        log.error({ err, file: name }, 'could not remove stale staging residue');
      }
    }
    if (cleaned > 0) log.info({ cleaned }, 'removed stale staging residue');
  }
}
