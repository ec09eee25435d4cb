import { z } from 'zod';
import { ConfigError, type GlanceConfig } from '../config/index.js';
import type { HttpStoreOptions } from './http-store.js';
import type { RbdStoreOptions } from './rbd-store.js';

/** The drivers this server has. */
export type SupportedStoreType = 'file' | 'rbd' | 'http';

/** One store to open: its id (the backend name; under a single store the driver's own name) and options. */
export type StoreSpec =
  | { id: string; type: 'file'; datadir: string }
  | { id: string; type: 'rbd'; options: RbdStoreOptions }
  | { id: string; type: 'http'; options: HttpStoreOptions };

export interface StoreLayout {
  /** enabled_backends is set: locations carry `store` metadata and the multistore API is served. */
  multistore: boolean;
  /** The id new data goes to: default_backend, or the store default_store names. */
  defaultId: string;
  stores: StoreSpec[];
}

// [glance_store] stores takes driver entry points: short names and the legacy class paths.
const STORE_NAMES: Record<string, string> = {
  file: 'file',
  filesystem: 'file',
  'glance.store.filesystem.Store': 'file',
  http: 'http',
  https: 'http',
  'glance.store.http.Store': 'http',
  rbd: 'rbd',
  'glance.store.rbd.Store': 'rbd',
  swift: 'swift',
  'glance.store.swift.Store': 'swift',
  cinder: 'cinder',
  'glance.store.cinder.Store': 'cinder',
  vmware: 'vmware',
  'glance.store.vmware_datastore.Store': 'vmware',
  s3: 's3',
};

// default_store names a scheme; these are the schemes of glance_store 4's drivers.
const SCHEME_TYPES: Record<string, string> = {
  file: 'file',
  filesystem: 'file',
  http: 'http',
  https: 'http',
  rbd: 'rbd',
  swift: 'swift',
  'swift+http': 'swift',
  'swift+https': 'swift',
  'swift+config': 'swift',
  cinder: 'cinder',
  vsphere: 'vmware',
  s3: 's3',
  's3+http': 's3',
  's3+https': 's3',
};

const supported = z.enum(['file', 'rbd', 'http']);

function singleStoreLayout(cfg: GlanceConfig): StoreLayout {
  const gs = cfg.glance_store;
  const where = `${cfg.source}:glance_store`;
  const problems: string[] = [];
  const types: SupportedStoreType[] = [];
  for (const name of gs.stores) {
    const type = STORE_NAMES[name.trim()];
    if (type === undefined) problems.push(`${where}:stores: unknown store ${JSON.stringify(name)}`);
    else if (!supported.safeParse(type).success) {
      problems.push(
        `${where}:stores: the ${type} store is not supported by this server (file, rbd, http are)`,
      );
    } else if (!types.includes(type as SupportedStoreType)) types.push(type as SupportedStoreType);
  }
  const defaultType = SCHEME_TYPES[gs.default_store.trim()];
  if (defaultType === undefined || !types.includes(defaultType as SupportedStoreType)) {
    // glance_store's verify_default_store refuses to start the same way.
    problems.push(`${where}:default_store: Store for scheme ${gs.default_store} not found in stores`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    multistore: false,
    defaultId: defaultType!,
    stores: types.map((type): StoreSpec => {
      if (type === 'file') return { id: type, type, datadir: gs.filesystem_store_datadir };
      if (type === 'rbd') return { id: type, type, options: gs };
      return { id: type, type, options: { ...gs, filtering: cfg.import_filtering_opts } };
    }),
  };
}

/**
 * Which stores glance_store would open for this configuration, checked the way it checks them at start-up:
 * `[glance_store] stores` + `default_store`, or `[DEFAULT] enabled_backends` + `default_backend` with one section
 * per backend. Throws ConfigError for a driver this server does not have.
 */
export function resolveStoreLayout(cfg: GlanceConfig): StoreLayout {
  const backends = cfg.DEFAULT.enabled_backends;
  if (!backends) return singleStoreLayout(cfg);
  const problems: string[] = [];
  const stores: StoreSpec[] = [];
  for (const b of backends) {
    if (b.type === 'file') stores.push({ id: b.name, type: 'file', datadir: b.filesystem_store_datadir });
    else if (b.type === 'rbd') stores.push({ id: b.name, type: 'rbd', options: b });
    else if (b.type === 'http') {
      stores.push({ id: b.name, type: 'http', options: { ...b, filtering: cfg.import_filtering_opts } });
    } else {
      problems.push(
        `${cfg.source}:DEFAULT:enabled_backends: store ${b.name} is of type ${b.type}, which this server does not support (file, rbd, http are)`,
      );
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  // The loader has checked that default_backend names one of enabled_backends.
  return { multistore: true, defaultId: cfg.glance_store.default_backend ?? '', stores };
}
