import { FileStore } from './file-store.js';
import { HttpStore } from './http-store.js';
import { RbdStore } from './rbd-store.js';
import type { StoreLayout, StoreSpec, SupportedStoreType } from './store-config.js';
import type { Store } from './store.js';

/** One open store and how locations name it. */
export interface StoreEntry {
  /** The backend name under enabled_backends; the driver name ('file', 'rbd', 'http') with a single store. */
  id: string;
  type: SupportedStoreType;
  store: Store;
  /** URL schemes of its locations. */
  schemes: readonly string[];
  /** Locations of this store start with it when known (file stores: `file://<datadir>`). */
  prefix: string | null;
}

const SCHEMES: Record<SupportedStoreType, readonly string[]> = {
  file: ['file', 'filesystem'],
  rbd: ['rbd'],
  http: ['http', 'https'],
};

export type StoreFactory = (spec: StoreSpec) => Store;

export const openStore: StoreFactory = (spec) => {
  switch (spec.type) {
    case 'file':
      return new FileStore({ datadir: spec.datadir });
    case 'rbd':
      return new RbdStore(spec.options);
    case 'http':
      return new HttpStore(spec.options);
  }
};

function schemeOf(url: string): string {
  const colon = url.indexOf(':');
  return colon < 0 ? '' : url.slice(0, colon).toLowerCase();
}

/** A location row as the registry needs it. */
export interface LocationRef {
  url: string;
  metadata: Record<string, unknown>;
}

/**
 * The stores of this server, as glance_store's registry: the default one for new data, lookup by store id
 * (multistore) and by location (the `store` metadata under multistore, else the URL's scheme).
 */
export class StoreRegistry {
  readonly multistore: boolean;
  readonly default: StoreEntry;
  readonly entries: readonly StoreEntry[];

  constructor(layout: StoreLayout, factory: StoreFactory = openStore) {
    this.multistore = layout.multistore;
    this.entries = layout.stores.map((spec) => ({
      id: spec.id,
      type: spec.type,
      store: factory(spec),
      schemes: SCHEMES[spec.type],
      prefix: spec.type === 'file' ? `file://${spec.datadir}` : null,
    }));
    const found = this.entries.find((e) => e.id === layout.defaultId);
    if (!found) throw new Error(`default store ${layout.defaultId} is not among the configured stores`);
    this.default = found;
  }

  byId(id: string): StoreEntry | undefined {
    return this.entries.find((e) => e.id === id);
  }

  /** Every scheme some store reads (upstream's get_known_schemes). */
  knownSchemes(): Set<string> {
    return new Set(this.entries.flatMap((e) => e.schemes));
  }

  /** The store holding a location's data; undefined when no configured store reads it (UnknownScheme). */
  forLocation(loc: LocationRef): StoreEntry | undefined {
    const named = loc.metadata.store;
    if (this.multistore && typeof named === 'string') {
      const entry = this.byId(named);
      if (entry) return entry;
    }
    const scheme = schemeOf(loc.url);
    const candidates = this.entries.filter((e) => e.schemes.includes(scheme));
    return candidates.find((e) => e.prefix !== null && loc.url.startsWith(e.prefix)) ?? candidates[0];
  }

  /** upstream's _get_store_id_from_uri: the store id a location without `store` metadata belongs to. */
  idForUrl(url: string): string | undefined {
    return this.forLocation({ url, metadata: {} })?.id;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.entries.map((e) => e.store.close?.()));
  }
}
