import type { BigIntStats } from 'node:fs';
import {
  appendFile,
  mkdir,
  open,
  readdir,
  rename,
  stat,
  unlink,
  writeFile,
  type FileHandle,
} from 'node:fs/promises';
import path from 'node:path';
import { StoreError } from '../store/errors.js';
import { FileStore } from '../store/file-store.js';
import type { ByteRange } from '../store/store.js';
import { imagesToPrune, type CachedImage } from './lru.js';

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

const ignoreMissing = (err: unknown): void => {
  if (errno(err) !== 'ENOENT') throw err;
};

/** Epoch seconds with microseconds, as upstream's time.time() values read. */
const seconds = (ns: bigint): number => Number(ns / 1000n) / 1e6;

/**
 * Upstream's cache directory layout: complete images at `<dir>/<image id>`, downloads in progress in
 * `incomplete/`, failed ones moved to `invalid/`, and an empty `queue/<image id>` per queued image (ordered by its
 * mtime). Where upstream keeps hits and access times in sqlite, this keeps them in `hits/<image id>`: one byte
 * appended per hit (O_APPEND, so every worker process can count without a lock) and the file's mtime as the
 * last access. Every state change is a create, rename or unlink, so the worker processes sharing the directory
 * never see a half-written image, and no process keeps state of its own.
 */
export class CacheDirectory {
  readonly base: string;
  readonly #reader: FileStore;

  constructor(dir: string) {
    this.base = path.resolve(dir);
    this.#reader = new FileStore({ datadir: this.base });
  }

  #path(where: 'incomplete' | 'invalid' | 'queue' | 'hits' | null, id: string): string {
    return where === null ? path.join(this.base, id) : path.join(this.base, where, id);
  }

  /** Ids come from URLs: only plain file names can name an entry. */
  static isEntryName(id: string): boolean {
    return id !== '' && id !== '.' && id !== '..' && id === path.basename(id) && !id.includes('\0');
  }

  async prepare(): Promise<void> {
    for (const sub of ['incomplete', 'invalid', 'queue', 'hits']) {
      await mkdir(path.join(this.base, sub), { recursive: true });
    }
  }

  async #exists(file: string): Promise<boolean> {
    return stat(file).then(
      (s) => s.isFile(),
      (err: unknown) => {
        ignoreMissing(err);
        return false;
      },
    );
  }

  /** Regular files directly in `dir` with their stats (entries vanishing meanwhile are skipped). */
  async #files(dir: string): Promise<Array<{ name: string; stats: BigIntStats }>> {
    const names = await readdir(dir).catch((err: unknown) => {
      ignoreMissing(err);
      return [];
    });
    const files: Array<{ name: string; stats: BigIntStats }> = [];
    for (const name of names) {
      const stats = await stat(path.join(dir, name), { bigint: true }).catch((err: unknown) => {
        ignoreMissing(err);
        return null;
      });
      if (stats?.isFile()) files.push({ name, stats });
    }
    return files;
  }

  isCached(id: string): Promise<boolean> {
    return CacheDirectory.isEntryName(id) ? this.#exists(this.#path(null, id)) : Promise.resolve(false);
  }

  isBeingCached(id: string): Promise<boolean> {
    return CacheDirectory.isEntryName(id)
      ? this.#exists(this.#path('incomplete', id))
      : Promise.resolve(false);
  }

  isQueued(id: string): Promise<boolean> {
    return CacheDirectory.isEntryName(id) ? this.#exists(this.#path('queue', id)) : Promise.resolve(false);
  }

  /** Cached images ordered by id, as upstream's sqlite driver lists them. */
  async cached(): Promise<CachedImage[]> {
    const images: CachedImage[] = [];
    for (const { name, stats } of await this.#files(this.base)) {
      const hits = await stat(this.#path('hits', name), { bigint: true }).catch((err: unknown) => {
        ignoreMissing(err);
        return null;
      });
      images.push({
        image_id: name,
        hits: hits ? Number(hits.size) : 0,
        last_accessed: seconds(hits ? hits.mtimeNs : stats.mtimeNs),
        last_modified: seconds(stats.mtimeNs),
        size: Number(stats.size),
      });
    }
    return images.sort((a, b) => (a.image_id < b.image_id ? -1 : a.image_id > b.image_id ? 1 : 0));
  }

  /** Queued image ids with the time (ms) they were queued, oldest first. */
  async queuedEntries(): Promise<Array<{ id: string; queuedAt: number }>> {
    const entries = (await this.#files(path.join(this.base, 'queue'))).map(({ name, stats }) => ({
      id: name,
      queuedAt: Number(stats.mtimeMs),
    }));
    return entries.sort((a, b) => a.queuedAt - b.queuedAt || (a.id < b.id ? -1 : 1));
  }

  async queued(): Promise<string[]> {
    return (await this.queuedEntries()).map((q) => q.id);
  }

  /** Upstream's queue_image: false when the image is already cached, being cached or queued. */
  async enqueue(id: string): Promise<boolean> {
    if (!CacheDirectory.isEntryName(id)) return false;
    if ((await this.isCached(id)) || (await this.isBeingCached(id))) return false;
    try {
      await writeFile(this.#path('queue', id), '', { flag: 'wx' });
      return true;
    } catch (err) {
      if (errno(err) === 'EEXIST') return false;
      throw err;
    }
  }

  async dequeue(id: string): Promise<void> {
    if (CacheDirectory.isEntryName(id)) await unlink(this.#path('queue', id)).catch(ignoreMissing);
  }

  async dequeueAll(): Promise<number> {
    const entries = await this.queuedEntries();
    for (const { id } of entries) await this.dequeue(id);
    return entries.length;
  }

  async remove(id: string): Promise<void> {
    if (!CacheDirectory.isEntryName(id)) return;
    await unlink(this.#path(null, id)).catch(ignoreMissing);
    await unlink(this.#path('hits', id)).catch(ignoreMissing);
  }

  async removeAll(): Promise<number> {
    const files = await this.#files(this.base);
    for (const { name } of files) await this.remove(name);
    return files.length;
  }

  /** A read stream over the cached image (or `range` of it) that sendfile can serve; null when not cached. */
  async read(id: string, range?: ByteRange): Promise<NodeJS.ReadableStream | null> {
    if (!CacheDirectory.isEntryName(id)) return null;
    try {
      return await this.#reader.get(`file://${this.#path(null, id)}`, range);
    } catch (err) {
      if (err instanceof StoreError && err.kind === 'not-found') return null;
      throw err;
    }
  }

  async recordHit(id: string): Promise<void> {
    if (CacheDirectory.isEntryName(id)) await appendFile(this.#path('hits', id), '.');
  }

  /**
   * Starts caching an image: its incomplete/ file, created exclusively so that of two processes fetching the same
   * image only one writes it. Null when it is already cached or being cached.
   */
  async beginWrite(id: string): Promise<FileHandle | null> {
    if (!CacheDirectory.isEntryName(id) || (await this.isCached(id))) return null;
    try {
      return await open(this.#path('incomplete', id), 'wx');
    } catch (err) {
      if (errno(err) === 'EEXIST') return null;
      throw err;
    }
  }

  /** The image arrived whole: its hit count starts afresh and it appears in the cache in one rename. */
  async commit(id: string): Promise<void> {
    await writeFile(this.#path('hits', id), '');
    await rename(this.#path('incomplete', id), this.#path(null, id));
    await this.dequeue(id);
  }

  /** A failed fetch is kept in invalid/ until the next clean, as upstream's rollback does. */
  async abandon(id: string): Promise<void> {
    await rename(this.#path('incomplete', id), this.#path('invalid', id)).catch(ignoreMissing);
  }

  /** Upstream's cleaner: invalid files go, and incomplete ones untouched for `stallTimeMs` (a hung fetch). */
  async clean(stallTimeMs: number, now = Date.now()): Promise<void> {
    for (const { name } of await this.#files(path.join(this.base, 'invalid'))) {
      await unlink(this.#path('invalid', name)).catch(ignoreMissing);
    }
    for (const { name, stats } of await this.#files(path.join(this.base, 'incomplete'))) {
      if (now - Number(stats.mtimeMs) > stallTimeMs) {
        await unlink(this.#path('incomplete', name)).catch(ignoreMissing);
      }
    }
    // A hit recorded while its image was being removed leaves a count behind; it must not outlive a stall time.
    for (const { name, stats } of await this.#files(path.join(this.base, 'hits'))) {
      if (now - Number(stats.mtimeMs) > stallTimeMs && !(await this.isCached(name))) {
        await unlink(this.#path('hits', name)).catch(ignoreMissing);
      }
    }
  }

  /** Upstream's pruner: least recently accessed images out until the directory holds at most `maxSize` bytes. */
  async prune(maxSize: number): Promise<{ images: number; bytes: number }> {
    const files = await this.#files(this.base);
    const total = files.reduce((sum, f) => sum + Number(f.stats.size), 0);
    if (total <= maxSize) return { images: 0, bytes: 0 };
    const victims = imagesToPrune(await this.cached(), total, maxSize);
    for (const image of victims) await this.remove(image.image_id);
    return { images: victims.length, bytes: victims.reduce((sum, v) => sum + v.size, 0) };
  }
}
