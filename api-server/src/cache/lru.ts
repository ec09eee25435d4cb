/** One cached image as GET /v2/cache lists it (upstream's sqlite driver's columns; times in epoch seconds). */
export interface CachedImage {
  image_id: string;
  hits: number;
  last_accessed: number;
  last_modified: number;
  size: number;
}

/**
 * Upstream's ImageCache.prune: while the cache holds more than `maxSize` bytes, the least recently accessed image
 * goes first. `total` is the size of every file in the cache directory, which may exceed the listed images.
 */
export function imagesToPrune(images: readonly CachedImage[], total: number, maxSize: number): CachedImage[] {
  const order = [...images].sort(
    (a, b) => a.last_accessed - b.last_accessed || a.image_id.localeCompare(b.image_id),
  );
  const victims: CachedImage[] = [];
  let size = total;
  for (const image of order) {
    if (size <= maxSize) break;
    victims.push(image);
    size -= image.size;
  }
  return victims;
}

/**
 * Queued images the prefetcher may take now: those queued at least `minAgeMs` ago, oldest first. The minimum age
 * keeps a just-queued image visible in queued_images for a while, where upstream's immediate fetch made its
 * listing racy.
 */
export function dueForPrefetch(
  queued: ReadonlyArray<{ id: string; queuedAt: number }>,
  now: number,
  minAgeMs: number,
): string[] {
  return queued.filter((q) => now - q.queuedAt >= minAgeMs).map((q) => q.id);
}
