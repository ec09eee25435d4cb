import { z } from 'zod';
import { nodeHashName } from '../domain/hash-algorithms.js';
import { bool, byteSize, dict, host, int, list, optionalStr, str } from './values.js';

// The options our server interprets, with upstream Glance 25's defaults. Keys keep upstream's names so that the
// typed configuration reads exactly like glance-api.conf and its documentation.

export const IMPORT_METHODS = ['glance-direct', 'web-download', 'copy-image', 'glance-download'] as const;

// glance_store 4.1's drivers, by the entry-point names enabled_backends uses.
export const STORE_TYPES = ['file', 'http', 'swift', 'rbd', 'cinder', 'vmware', 's3'] as const;
export type StoreType = (typeof STORE_TYPES)[number];

export const RESERVED_STORES = ['os_glance_staging_store', 'os_glance_tasks_store'] as const;

// [paste_deploy] flavor picks upstream's pipeline `glance-api[-<flavor>]`; 'noauth' is our alias for none.
export const FLAVORS = [
  'keystone',
  'keystone+caching',
  'keystone+cachemanagement',
  'caching',
  'cachemanagement',
] as const;

export const defaultSection = z.object({
  bind_host: host.default('0.0.0.0'),
  // upstream binds `bind_port or 9292`, so 0 means the default too.
  bind_port: int({ min: 0, max: 65535 }, 9292).transform((p) => (p === 0 ? 9292 : p)),
  // null: upstream's default, the number of CPUs capped at 8; resolved by the loader.
  workers: int({ min: 0 }),
  public_endpoint: optionalStr.default(null),
  // This worker's own URL: recorded on images it stages, so other workers proxy their import to it.
  worker_self_reference_url: optionalStr.default(null),
  image_size_cap: int({ min: 1, max: 9223372036854775808n }, 1099511627776),
  user_storage_quota: byteSize.default(0),
  show_image_direct_url: bool.default(false),
  show_multiple_locations: bool.default(false),
  hashing_algorithm: str
    .refine(
      (name) => nodeHashName(name) !== null,
      'is not a hash algorithm glance could compute os_hash_value with',
    )
    .default('sha512'),
  limit_param_default: int({ min: 1 }, 25),
  api_limit_max: int({ min: 1 }, 1000),
  enabled_backends: dict.nullable().default(null),
  enabled_import_methods: list(z.enum(IMPORT_METHODS), { quotes: true }).default([
    'glance-direct',
    'web-download',
    'copy-image',
  ]),
  // Where glance-direct and web-download stage data without enabled_backends; upstream only reads file:/// URIs.
  node_staging_uri: str
    .refine((uri) => uri.startsWith('file:///'), 'must be a file:/// URI naming an absolute directory')
    .default('file:///tmp/staging/'),
  enforce_secure_rbac: bool.default(false),
  // Quotas through Keystone unified limits ([oslo_limit]); off, /v2/info/usage is empty and nothing is counted.
  use_keystone_limits: bool.default(false),
  // The image cache (glance/image_cache/__init__.py). Upstream turns the cache API on whenever image_cache_dir is
  // set; serving downloads from it also needs a caching [paste_deploy] flavor (its cache middleware).
  image_cache_dir: optionalStr.default(null),
  image_cache_max_size: int({ min: 0 }, 10 * 1024 ** 3),
  image_cache_stall_time: int({ min: 0 }, 86400),
  // Both upstream drivers are accepted; either way the cache keeps its bookkeeping in files of its own.
  image_cache_driver: z
    .string()
    .transform((d) => d.trim().toLowerCase())
    .pipe(z.enum(['sqlite', 'xattr']))
    .default('sqlite'),
  // Glance 2023.1's periodic prefetcher interval; a queued image is fetched no sooner than this after queueing.
  cache_prefetcher_interval: int({ min: 1 }, 300),
  allow_additional_image_properties: bool.default(true),
  // Quotas: a negative value means unlimited, as upstream.
  image_property_quota: int({}, 128),
  image_tag_quota: int({}, 128),
  image_member_quota: int({}, 128),
  image_location_quota: int({}, 10),
  allow_anonymous_access: bool.default(false),
  max_request_id_length: int({ min: 0 }, 64),
  // Deprecated alias of [database] connection, still honoured by oslo.config.
  sql_connection: optionalStr.default(null),
});

export const databaseSection = z.object({
  connection: optionalStr.default(null),
  sql_connection: optionalStr.default(null),
});

// keystoneauth's password plugin options, read by [keystone_authtoken] and [oslo_limit] alike.
const keystonePasswordOptions = {
  auth_url: optionalStr.default(null),
  auth_type: optionalStr.default(null),
  username: optionalStr.default(null),
  user_id: optionalStr.default(null),
  user_domain_name: optionalStr.default(null),
  user_domain_id: optionalStr.default(null),
  password: optionalStr.default(null),
  project_name: optionalStr.default(null),
  project_id: optionalStr.default(null),
  project_domain_name: optionalStr.default(null),
  project_domain_id: optionalStr.default(null),
};

export const keystoneAuthtokenSection = z.object({
  www_authenticate_uri: optionalStr.default(null),
  // Deprecated name of www_authenticate_uri, still honoured by keystonemiddleware.
  auth_uri: optionalStr.default(null),
  ...keystonePasswordOptions,
  region_name: optionalStr.default(null),
  // -1 disables caching, as in keystonemiddleware.
  token_cache_time: int({ min: -1 }, 300),
  http_connect_timeout: int({ min: 1 }),
});

export const pasteDeploySection = z.object({
  flavor: z
    .string()
    .transform((f) => f.trim())
    .pipe(z.enum(['', 'noauth', ...FLAVORS]))
    .transform((f) => (f === '' || f === 'noauth' ? null : f))
    .default(null),
});

export const fileStoreOptions = {
  filesystem_store_datadir: str.default('/var/lib/glance/images'),
  filesystem_store_file_perm: int({}, 0),
  filesystem_store_chunk_size: int({ min: 1 }, 65536),
  filesystem_thin_provisioning: bool.default(false),
};

export const rbdStoreOptions = {
  rbd_store_chunk_size: int({ min: 1 }, 8),
  rbd_store_pool: str.default('images'),
  rbd_store_user: optionalStr.default(null),
  rbd_store_ceph_conf: str.default(''),
  rados_connect_timeout: int({}, 0),
  rbd_thin_provisioning: bool.default(false),
};

// glance_store's http driver verifies https servers only when https_insecure is False or a CA file is given.
export const httpStoreOptions = {
  https_insecure: bool.default(true),
  https_ca_certificates_file: optionalStr.default(null),
};

export const glanceStoreSection = z.object({
  stores: list(z.string()).default(['file', 'http']),
  default_store: str.default('file'),
  default_backend: optionalStr.default(null),
  ...fileStoreOptions,
  ...rbdStoreOptions,
  ...httpStoreOptions,
});

export const fileBackendSection = z.object({
  store_description: optionalStr.default(null),
  ...fileStoreOptions,
});
export const rbdBackendSection = z.object({
  store_description: optionalStr.default(null),
  ...rbdStoreOptions,
});
export const httpBackendSection = z.object({
  store_description: optionalStr.default(null),
  ...httpStoreOptions,
});
export const otherBackendSection = z.object({ store_description: optionalStr.default(null) });

// oslo.limit 2's options: the endpoint whose service and region the limits are registered for, and the
// keystoneauth password credentials it reads them with (project- or system-scoped).
export const osloLimitSection = z.object({
  endpoint_id: optionalStr.default(null),
  ...keystonePasswordOptions,
  system_scope: optionalStr.default(null),
  timeout: int({ min: 1 }),
});

export const osloPolicySection = z.object({
  enforce_scope: bool.default(false),
  enforce_new_defaults: bool.default(false),
  policy_file: str.default('policy.yaml'),
  policy_dirs: list(z.string()).default(['policy.d']),
});

const portNumber = int({ min: 1, max: 65535 }).pipe(z.number({ message: 'must not be empty' }));

// The property prefixes glance-download copies from the remote image (upstream's default list).
export const glanceDownloadPropertiesSection = z.object({
  extra_properties: list(z.string(), { quotes: true }).default([
    'hw_',
    'trait:',
    'os_distro',
    'os_secure_boot',
    'os_type',
  ]),
});

export const importFilteringSection = z.object({
  allowed_schemes: list(z.string(), { quotes: true }).default(['http', 'https']),
  disallowed_schemes: list(z.string(), { quotes: true }).default([]),
  allowed_hosts: list(host).default([]),
  disallowed_hosts: list(host).default([]),
  allowed_ports: list(portNumber).default([80, 443]),
  disallowed_ports: list(portNumber).default([]),
});
