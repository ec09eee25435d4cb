import { StoreError } from './errors.js';
import type { LocationRef, StoreRegistry } from './registry.js';
import type { ByteRange } from './store.js';

/**
 * Opens an image's data (or `range` of it) at the first of its locations that yields it, trying each in order as
 * upstream's download does. Throws the last failure when none does (a StoreError 'not-found' for an unknown scheme).
 */
export async function readLocations(
  stores: StoreRegistry,
  locations: readonly LocationRef[],
  range?: ByteRange,
): Promise<NodeJS.ReadableStream> {
  let failure: unknown = new StoreError('not-found', 'The image has no location');
  for (const loc of locations) {
    try {
      const entry = stores.forLocation(loc);
      if (!entry) throw new StoreError('not-found', `Unknown scheme '${loc.url.split(':')[0] ?? ''}'`);
      return await entry.store.get(loc.url, range);
    } catch (err) {
      failure = err;
    }
  }
  throw failure;
}
