import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ImageRecord } from '../domain/types.js';
import { createFormatInspector, type FormatInspectingStream } from '../format/inspector.js';
import { StoreError } from './errors.js';
import { createHasher } from './hashing.js';
import { limitSize } from './limit.js';
import type { Store, StoredObject } from './store.js';

// Disk formats upstream inspects in flight (for container_format bare only) to learn the virtual size.
const INSPECTED_FORMATS = new Set(['raw', 'qcow2', 'vhd', 'vhdx', 'vmdk', 'vdi', 'qed']);

/** The most bytes accepted, and the 413 explanation given past it. */
export interface IngestLimit {
  bytes: number;
  explanation: string;
}

export interface IngestResult {
  location: string;
  size: number;
  md5: string;
  osHashAlgo: string;
  osHashValue: string;
  virtualSize: number | null;
}

export type IngestedImage = Pick<
  ImageRecord,
  'id' | 'container_format' | 'disk_format' | 'virtual_size' | 'os_hash_algo'
>;

/**
 * Streams `source` through `transforms` into `store` as the image's data. On failure the stored data is
 * removed; a store failure breaks the pipeline too, so the store's own error is the one thrown.
 */
export async function storeThrough(
  store: Store,
  imageId: string,
  source: NodeJS.ReadableStream,
  transforms: NodeJS.ReadWriteStream[],
  declaredSize?: number,
): Promise<StoredObject> {
  const tail = new PassThrough();
  const storing = store.add(imageId, tail, declaredSize);
  // A store that fails before reading (the data is already there, say) must not leave the pipeline waiting.
  storing.catch(() => tail.destroy());
  const [piped, stored] = await Promise.allSettled([pipeline([source, ...transforms, tail]), storing]);
  if (piped.status === 'fulfilled' && stored.status === 'fulfilled') return stored.value;
  if (stored.status === 'fulfilled') await store.delete(stored.value.location);
  if (stored.status === 'rejected' && (stored.reason instanceof StoreError || piped.status === 'fulfilled')) {
    throw stored.reason;
  }
  throw (piped as PromiseRejectedResult).reason;
}

/**
 * Upstream's set_data pipeline: `source` streams through the size limit, the hasher and (for bare raw/qcow2/…
 * images still without a virtual size) the format inspector into the store, nothing buffered.
 */
export async function ingestImageData(
  source: NodeJS.ReadableStream,
  store: Store,
  image: IngestedImage,
  limit: IngestLimit,
  hashingAlgorithm: string,
  declaredSize?: number,
): Promise<IngestResult> {
  const hasher = createHasher(image.os_hash_algo ?? hashingAlgorithm);
  const inspector: FormatInspectingStream | null =
    image.container_format === 'bare' &&
    image.virtual_size === null &&
    INSPECTED_FORMATS.has(image.disk_format ?? '')
      ? createFormatInspector(image.disk_format ?? '')
      : null;
  const transforms = [limitSize(limit.bytes, limit.explanation), hasher, ...(inspector ? [inspector] : [])];
  const stored = await storeThrough(store, image.id, source, transforms, declaredSize);
  const digest = hasher.result();
  return {
    location: stored.location,
    size: stored.size,
    md5: digest.md5,
    osHashAlgo: digest.osHashAlgo,
    osHashValue: digest.osHashValue,
    virtualSize: inspector?.virtualSize() ?? null,
  };
}
