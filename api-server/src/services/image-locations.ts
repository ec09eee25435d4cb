import type { Logger } from 'pino';
import type { LocationWrite } from '../db/image-repo.js';
import type { ImageLocation, ImageRecord, LocationOp, NewLocation } from '../domain/types.js';
import { InternalError, Invalid } from '../domain/errors.js';
import { resolveDestination, resolveWithDns } from '../net/destination.js';
import { UriRefused, type ImportFiltering } from '../net/uri-filter.js';
import { StoreError } from '../store/errors.js';
import { StoreConflictError } from '../store/rbd-errors.js';
import type { StoreRegistry } from '../store/registry.js';

// glance's RESTRICTED_URI_SCHEMAS: a client must never point an image at a file of the server, or at the
// server's own swift credentials.
const RESTRICTED_SCHEMES = new Set(['file', 'filesystem', 'swift+config']);

export interface LocationDeps {
  stores: StoreRegistry;
  /** [import_filtering_opts]: http(s) locations pass the same filter as web-download (Debian's SSRF fix). */
  filtering: ImportFiltering;
}

const invalidLocation = (): Invalid => new Invalid('Invalid location');

function schemeOf(url: string): string {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url);
  return match?.[1]?.toLowerCase() ?? '';
}

/** check_location_metadata: only dicts, lists and strings, all the way down. */
function checkMetadata(value: unknown, key = ''): void {
  if (Array.isArray(value)) value.forEach((v, i) => checkMetadata(v, `${key}[${i}]`));
  else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) checkMetadata(v, k);
  } else if (typeof value !== 'string') {
    throw new Invalid(
      `The image metadata key ${key} has an invalid type of ${value === null ? 'NoneType' : typeof value}. ` +
        'Only dict, list, and unicode are supported.',
    );
  }
}

/**
 * Upstream's image location rules that need the stores: a new location must use a scheme some store reads (not
 * file://), pass the import filter when it is http(s), and name data the store can size (> 0 bytes); under
 * multistore its `store` metadata is filled in from the URL. Removing a location removes its data from the
 * store first, as upstream's StoreLocations.pop does.
 */
export class LocationRules {
  constructor(private readonly deps: LocationDeps) {}

  /** get_updated_store_location: the store a URL belongs to is recorded in its metadata (multistore only). */
  #withStore(loc: NewLocation): NewLocation {
    if (!this.deps.stores.multistore) return loc;
    const id = this.deps.stores.idForUrl(loc.url);
    return id === undefined ? loc : { url: loc.url, metadata: { ...loc.metadata, store: id } };
  }

  /** _check_image_location: the size of the data behind a valid new location, else 400 'Invalid location'. */
  async #check(loc: NewLocation): Promise<number> {
    const scheme = schemeOf(loc.url);
    const { stores, filtering } = this.deps;
    if (!stores.knownSchemes().has(scheme) || RESTRICTED_SCHEMES.has(scheme)) throw invalidLocation();
    if (scheme === 'http' || scheme === 'https') {
      try {
        await resolveDestination(loc.url, filtering, resolveWithDns);
      } catch (err) {
        if (err instanceof UriRefused) throw invalidLocation();
        throw err;
      }
    }
    const entry = stores.forLocation(loc);
    if (!entry) throw invalidLocation();
    let size: number;
    try {
      size = await entry.store.size(loc.url);
    } catch (err) {
      if (err instanceof StoreError) throw invalidLocation();
      throw err;
    }
    if (!(size > 0)) throw invalidLocation();
    checkMetadata(loc.metadata);
    return size;
  }

  /**
   * Runs the PATCH's location operations against the stores in order and returns what to write: the image's
   * new location list, its size when it had none, and the validation data of a queued image made active.
   * Data of removed locations is gone once this returns.
   */
  async apply(image: ImageRecord, ops: LocationOp[], log: Logger): Promise<LocationWrite> {
    let locations: (ImageLocation | NewLocation)[] = image.locations.filter((l) => l.status === 'active');
    let size = image.size;
    const write: LocationWrite = { locations, size: null, activate: null };
    const learnSize = (found: number): void => {
      // _set_image_size: only an image without a size takes the first size a store reports.
      if (!size) size = write.size = found;
    };
    for (const op of ops) {
      if (op.op === 'add') {
        const loc = this.#withStore(op.location);
        learnSize(await this.#check(loc));
        locations.splice(op.position, 0, loc);
      } else if (op.op === 'replace') {
        const next = op.locations.map((l) => this.#withStore(l));
        if (op.urlsChanged) for (const loc of next) learnSize(await this.#check(loc));
        locations = next;
      } else {
        const [loc] = locations.splice(op.position, 1);
        if (loc && 'id' in loc) await this.#removeData(image.id, loc, log);
      }
      if ((op.op === 'add' || op.op === 'replace') && op.activate) {
        write.activate = { ...(write.activate ?? {}), ...op.validationData };
      }
    }
    write.locations = locations;
    return write;
  }

  /** delete_image_location_from_backend; a failure keeps the location (upstream answers 500). */
  async #removeData(imageId: string, loc: ImageLocation, log: Logger): Promise<void> {
    const entry = this.deps.stores.forLocation(loc);
    if (!entry) return;
    try {
      await entry.store.delete(loc.url);
    } catch (err) {
      if (err instanceof StoreError && err.kind === 'not-found') return;
      log.warn({ imageId, err }, 'could not remove the data of a removed location');
      throw new InternalError(err instanceof StoreConflictError ? err.message : 'Internal Server Error');
    }
  }
}
