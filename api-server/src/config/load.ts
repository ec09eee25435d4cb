import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { z } from 'zod';
import { ConfigError } from './errors.js';
import { readIni, setEntry, type IniDocument } from './ini.js';
import {
  CINDER_STORE_OPTIONS,
  FILE_STORE_IGNORED,
  HTTP_STORE_OPTIONS,
  IGNORED_DATABASE,
  IGNORED_DEFAULT,
  IGNORED_GLANCE_STORE,
  IGNORED_KEYSTONE_AUTHTOKEN,
  IGNORED_OSLO_LIMIT,
  IGNORED_OSLO_POLICY,
  IGNORED_PASTE_DEPLOY,
  S3_STORE_OPTIONS,
  SWIFT_STORE_OPTIONS,
  VMWARE_STORE_OPTIONS,
  isSecretKey,
} from './known-options.js';
import {
  RESERVED_STORES,
  STORE_TYPES,
  databaseSection,
  defaultSection,
  fileBackendSection,
  glanceDownloadPropertiesSection,
  glanceStoreSection,
  httpBackendSection,
  importFilteringSection,
  keystoneAuthtokenSection,
  osloLimitSection,
  osloPolicySection,
  otherBackendSection,
  pasteDeploySection,
  rbdBackendSection,
  type StoreType,
} from './schema.js';
import { SubstitutionError, substitute } from './substitute.js';
import { bool, str } from './values.js';

export type FileStoreConfig = z.output<typeof fileBackendSection>;
export type FileBackend = { name: string; type: 'file' } & FileStoreConfig;
export type RbdBackend = { name: string; type: 'rbd' } & z.output<typeof rbdBackendSection>;
export type HttpBackend = { name: string; type: 'http' } & z.output<typeof httpBackendSection>;
export type OtherBackend = { name: string; type: Exclude<StoreType, 'file' | 'rbd' | 'http'> } & z.output<
  typeof otherBackendSection
>;
/** One entry of [DEFAULT] enabled_backends, with the options of its own section. */
export type Backend = FileBackend | RbdBackend | HttpBackend | OtherBackend;
export type ReservedStore = (typeof RESERVED_STORES)[number];

type DefaultOptions = z.output<typeof defaultSection>;

/**
 * The validated glance-api.conf. Sections and keys keep upstream's names; deprecated aliases are folded into the
 * names that replaced them. Empty values of options that default to None are null.
 */
export interface GlanceConfig {
  /** The file it was loaded from (relative policy files are looked up beside it). */
  source: string;
  /** The parsed file after environment overrides, for the modules that read their own sections (notify/). */
  document: IniDocument;
  DEFAULT: Omit<
    DefaultOptions,
    'workers' | 'enabled_backends' | 'sql_connection' | 'allow_anonymous_access'
  > & {
    workers: number;
    enabled_backends: Backend[] | null;
  };
  database: { connection: string };
  keystone_authtoken: Omit<z.output<typeof keystoneAuthtokenSection>, 'auth_uri'>;
  paste_deploy: z.output<typeof pasteDeploySection>;
  glance_store: z.output<typeof glanceStoreSection>;
  /** The file stores glance adds under multistore for staging and tasks. */
  reserved_stores: Record<ReservedStore, FileStoreConfig>;
  oslo_policy: z.output<typeof osloPolicySection>;
  oslo_limit: z.output<typeof osloLimitSection>;
  import_filtering_opts: z.output<typeof importFilteringSection>;
  glance_download_properties: z.output<typeof glanceDownloadPropertiesSection>;
}

const ENV_OVERRIDE = /^GLANCE_([A-Z0-9_]+?)__([A-Z0-9_]+)$/i;

/** `GLANCE_<SECTION>__<KEY>` variables win over the file (GLANCE_DEFAULT__BIND_PORT, GLANCE_DATABASE__CONNECTION). */
function applyEnvOverrides(doc: IniDocument, env: NodeJS.ProcessEnv): void {
  for (const [name, value] of Object.entries(env)) {
    const match = ENV_OVERRIDE.exec(name);
    if (!match?.[1] || !match[2] || value === undefined) continue;
    const section = match[1].toUpperCase() === 'DEFAULT' ? 'DEFAULT' : match[1].toLowerCase();
    setEntry(doc, section, match[2].toLowerCase(), { value, source: `$${name}` });
  }
}

const OTHER_STORE_OPTIONS: Record<Exclude<StoreType, 'file' | 'rbd' | 'http'>, readonly string[]> = {
  swift: SWIFT_STORE_OPTIONS,
  cinder: CINDER_STORE_OPTIONS,
  vmware: VMWARE_STORE_OPTIONS,
  s3: S3_STORE_OPTIONS,
};

class Validator {
  readonly problems: string[] = [];

  constructor(
    private readonly doc: IniDocument,
    private readonly file: string,
  ) {}

  report(section: string, key: string, message: string, showValue = true): void {
    const entry = this.doc.get(section)?.get(key);
    const shown = showValue && entry && !isSecretKey(key) ? ` (got ${JSON.stringify(entry.value)})` : '';
    this.problems.push(`${entry?.source ?? this.file}:${section}:${key}: ${message}${shown}`);
  }

  /** Validates one interpreted section: unknown keys, `$` references, then the typed options. */
  section<S extends z.ZodObject>(name: string, schema: S, ignored: readonly string[]): z.output<S> | null {
    const known = new Set(Object.keys(schema.shape));
    const skip = new Set(ignored);
    const input: Record<string, string> = {};
    let unresolved = false;
    for (const [key, entry] of this.doc.get(name) ?? []) {
      if (!known.has(key)) {
        if (!skip.has(key)) this.report(name, key, 'unknown option', false);
        continue;
      }
      try {
        input[key] = substitute(entry.value, name, this.doc);
      } catch (err) {
        if (!(err instanceof SubstitutionError)) throw err;
        const message = isSecretKey(key)
          ? 'has a $ reference that cannot be resolved (write $$ for a literal $)'
          : `${err.message} (write $$ for a literal $)`;
        this.report(name, key, message, false);
        unresolved = true;
      }
    }
    const result = schema.safeParse(input);
    // A section with an unresolved reference is incomplete: no cross-option check may trust it.
    if (result.success) return unresolved ? null : result.data;
    for (const issue of result.error.issues) {
      const [key, item] = issue.path;
      const where = typeof item === 'number' ? `item ${item + 1}: ${issue.message}` : issue.message;
      this.report(name, String(key ?? ''), where);
    }
    return null;
  }
}

/** enabled_backends (non-empty) with each backend's own section. */
function resolveBackends(
  v: Validator,
  pairs: Array<[string, string]>,
  defaultBackend: string | null,
): Backend[] | null {
  const backends: Backend[] = [];
  let valid = true;
  for (const [name, type] of pairs) {
    if ((RESERVED_STORES as readonly string[]).includes(name)) {
      v.report('DEFAULT', 'enabled_backends', `store name ${name} is reserved by glance`);
      valid = false;
      continue;
    }
    if (type === 'file') {
      const opts = v.section(name, fileBackendSection, FILE_STORE_IGNORED);
      if (opts) backends.push({ name, type, ...opts });
    } else if (type === 'rbd') {
      const opts = v.section(name, rbdBackendSection, []);
      if (opts) backends.push({ name, type, ...opts });
    } else if (type === 'http') {
      const opts = v.section(name, httpBackendSection, HTTP_STORE_OPTIONS);
      if (opts) backends.push({ name, type, ...opts });
    } else if (Object.hasOwn(OTHER_STORE_OPTIONS, type)) {
      const other = type as Exclude<StoreType, 'file' | 'rbd' | 'http'>;
      const opts = v.section(name, otherBackendSection, OTHER_STORE_OPTIONS[other]);
      if (opts) backends.push({ name, type: other, ...opts });
    } else {
      v.report(
        'DEFAULT',
        'enabled_backends',
        `store ${name} has unknown type ${type} (known: ${STORE_TYPES.join(', ')})`,
      );
      valid = false;
    }
  }
  if (defaultBackend === null) {
    v.report('glance_store', 'default_backend', 'is required when [DEFAULT] enabled_backends is set');
    valid = false;
  } else if (!pairs.some(([name]) => name === defaultBackend)) {
    v.report(
      'glance_store',
      'default_backend',
      `must name one of enabled_backends: ${pairs.map(([n]) => n).join(', ')}`,
    );
    valid = false;
  }
  return valid ? backends : null;
}

function resolveReservedStores(v: Validator): Record<ReservedStore, FileStoreConfig> | null {
  const stores: Partial<Record<ReservedStore, FileStoreConfig>> = {};
  for (const name of RESERVED_STORES) {
    const schema = fileBackendSection.extend({
      filesystem_store_datadir: str.default(`/var/lib/glance/${name}`),
    });
    const opts = v.section(name, schema, FILE_STORE_IGNORED);
    if (!opts) return null;
    stores[name] = opts;
  }
  return stores as Record<ReservedStore, FileStoreConfig>;
}

const MYSQL_URL = /^mysql(\+[a-z0-9_]+)?:\/\/[^/]*\/[^/?#]+/i;

/** The service credentials a keystone flavor needs, which upstream would only miss at the first request. */
function checkKeystone(v: Validator, ks: z.output<typeof keystoneAuthtokenSection>): void {
  const forKeystone = 'is required with [paste_deploy] flavor keystone';
  const rules: Array<[key: string, ok: boolean, message: string]> = [
    [
      'auth_type',
      ks.auth_type === 'password' || ks.auth_type === 'v3password',
      'must be password or v3password with [paste_deploy] flavor keystone',
    ],
    ['auth_url', ks.auth_url !== null, forKeystone],
    ['password', ks.password !== null, forKeystone],
    ['username', ks.username !== null || ks.user_id !== null, 'username or user_id is required'],
    [
      'user_domain_name',
      ks.username === null || ks.user_domain_name !== null || ks.user_domain_id !== null,
      'user_domain_name or user_domain_id is required with username',
    ],
    [
      'project_name',
      ks.project_name !== null || ks.project_id !== null,
      'project_name or project_id is required',
    ],
    [
      'project_domain_name',
      ks.project_name === null || ks.project_domain_name !== null || ks.project_domain_id !== null,
      'project_domain_name or project_domain_id is required with project_name',
    ],
  ];
  for (const [key, ok, message] of rules)
    if (!ok) v.report('keystone_authtoken', key, message, key === 'auth_type');
}

/** What oslo.limit needs to read limits, which upstream would only miss at the first quota check (a 500). */
function checkOsloLimit(v: Validator, ol: z.output<typeof osloLimitSection>): void {
  const required = 'is required with [DEFAULT] use_keystone_limits';
  const rules: Array<[key: string, ok: boolean, message: string]> = [
    ['endpoint_id', ol.endpoint_id !== null, required],
    [
      'auth_type',
      ol.auth_type === 'password' || ol.auth_type === 'v3password',
      'must be password or v3password with [DEFAULT] use_keystone_limits',
    ],
    ['auth_url', ol.auth_url !== null, required],
    ['password', ol.password !== null, required],
    ['username', ol.username !== null || ol.user_id !== null, 'username or user_id is required'],
    [
      'user_domain_name',
      ol.username === null || ol.user_domain_name !== null || ol.user_domain_id !== null,
      'user_domain_name or user_domain_id is required with username',
    ],
    [
      'system_scope',
      ol.system_scope === null || ol.system_scope === 'all',
      'must be all (or unset, for a project scope)',
    ],
    [
      'project_name',
      ol.system_scope !== null || ol.project_name !== null || ol.project_id !== null,
      'project_name, project_id or system_scope is required',
    ],
    [
      'project_domain_name',
      ol.project_name === null || ol.project_domain_name !== null || ol.project_domain_id !== null,
      'project_domain_name or project_domain_id is required with project_name',
    ],
  ];
  for (const [key, ok, message] of rules) if (!ok) v.report('oslo_limit', key, message, key === 'auth_type');
}

const isSet = (value: string) => value.trim() !== '';
const isTrue = (value: string) => bool.safeParse(value).data === true;
const isList = (value: string) => !['', '[]'].includes(value.replace(/\s+/g, ''));

/**
 * Upstream options this server does not honour (yet). Set to anything but their default they would change what
 * upstream does, so a deployer who sets one expects it: the server refuses to start rather than ignore it.
 */
const UNHONOURED: ReadonlyArray<
  [section: string, key: string, set: (value: string) => boolean, why: string]
> = [
  [
    'DEFAULT',
    'property_protection_file',
    isSet,
    'property protections are not supported by this server: the properties it protects would be writable',
  ],
  [
    'DEFAULT',
    'metadata_encryption_key',
    isSet,
    'encrypted location metadata is not supported by this server: locations upstream encrypted could not be ' +
      'read, and new ones would be written in clear',
  ],
  [
    'DEFAULT',
    'delayed_delete',
    isTrue,
    'delayed delete is not supported by this server: a deleted image would lose its data at once instead of ' +
      'waiting in pending_delete for the scrubber',
  ],
  [
    'DEFAULT',
    'location_strategy',
    (value) => isSet(value) && value.trim() !== 'location_order',
    'only location_order is supported by this server',
  ],
  [
    'image_import_opts',
    'image_import_plugins',
    isList,
    'import plugins (image_conversion, image_decompression, inject_image_metadata) are not supported by this ' +
      'server: imported images would be stored as they came',
  ],
  [
    'keystone_authtoken',
    'cafile',
    isSet,
    "TLS settings for Keystone are not supported by this server yet: it trusts the system's CAs",
  ],
  [
    'keystone_authtoken',
    'insecure',
    isTrue,
    "TLS settings for Keystone are not supported by this server yet: it always verifies Keystone's certificate",
  ],
];

function refuseUnhonoured(v: Validator, doc: IniDocument): void {
  for (const [section, key, set, why] of UNHONOURED) {
    const entry = doc.get(section)?.get(key);
    if (entry && set(entry.value))
      v.report(section, key, `${why}; remove the option, or run upstream Glance`);
  }
}

/** Validates a parsed document (after env overrides) into a GlanceConfig, or throws listing every problem. */
export function validateConfig(
  doc: IniDocument,
  file: string,
  syntaxProblems: readonly string[] = [],
): GlanceConfig {
  const v = new Validator(doc, file);
  v.problems.push(...syntaxProblems);
  const dflt = v.section('DEFAULT', defaultSection, IGNORED_DEFAULT);
  const database = v.section('database', databaseSection, IGNORED_DATABASE);
  const keystone = v.section('keystone_authtoken', keystoneAuthtokenSection, IGNORED_KEYSTONE_AUTHTOKEN);
  const paste = v.section('paste_deploy', pasteDeploySection, IGNORED_PASTE_DEPLOY);
  const store = v.section('glance_store', glanceStoreSection, IGNORED_GLANCE_STORE);
  const policy = v.section('oslo_policy', osloPolicySection, IGNORED_OSLO_POLICY);
  const importFiltering = v.section('import_filtering_opts', importFilteringSection, []);
  const glanceDownload = v.section('glance_download_properties', glanceDownloadPropertiesSection, []);
  const limit = v.section('oslo_limit', osloLimitSection, IGNORED_OSLO_LIMIT);
  const reserved = resolveReservedStores(v);
  refuseUnhonoured(v, doc);

  const connection =
    database?.connection ??
    database?.sql_connection ??
    dflt?.sql_connection ??
    doc.get('sql')?.get('connection')?.value;
  // When [DEFAULT] itself failed, its deprecated sql_connection may still be the one meant.
  if (database && (dflt || !doc.get('DEFAULT')?.has('sql_connection'))) {
    if (!connection) v.report('database', 'connection', 'is required');
    else if (!MYSQL_URL.test(connection)) {
      v.report(
        'database',
        'connection',
        'must be a mysql:// or mysql+<driver>:// URL naming a database (only MySQL/MariaDB is supported)',
      );
    }
  }
  const usesKeystone = paste?.flavor?.startsWith('keystone') ?? false;
  if (keystone && usesKeystone) checkKeystone(v, keystone);
  if (dflt?.use_keystone_limits && limit) checkOsloLimit(v, limit);
  if (dflt && policy && dflt.enforce_secure_rbac !== policy.enforce_new_defaults) {
    v.report(
      'DEFAULT',
      'enforce_secure_rbac',
      'does not match [oslo_policy] enforce_new_defaults: set both to True to enable secure RBAC personas, otherwise make sure both are False',
    );
  }
  if (dflt?.allow_anonymous_access && usesKeystone) {
    v.report(
      'DEFAULT',
      'allow_anonymous_access',
      'True is not supported: requests without a valid token get 401',
    );
  }
  const backends = dflt?.enabled_backends?.length
    ? resolveBackends(v, dflt.enabled_backends, store?.default_backend ?? null)
    : null;

  if (
    v.problems.length > 0 ||
    !dflt ||
    !database ||
    !keystone ||
    !paste ||
    !store ||
    !policy ||
    !importFiltering ||
    !glanceDownload ||
    !limit ||
    !reserved ||
    !connection
  ) {
    throw new ConfigError(v.problems);
  }
  const {
    workers,
    enabled_backends: _pairs,
    sql_connection: _alias,
    allow_anonymous_access: _anon,
    ...rest
  } = dflt;
  const { auth_uri, ...authtoken } = keystone;
  return {
    source: file,
    document: doc,
    DEFAULT: {
      ...rest,
      workers: workers ?? Math.min(availableParallelism(), 8),
      enabled_backends: backends,
    },
    database: { connection },
    keystone_authtoken: {
      ...authtoken,
      // keystonemiddleware falls back to the deprecated auth_uri, then to the identity server it talks to.
      www_authenticate_uri: authtoken.www_authenticate_uri ?? auth_uri ?? authtoken.auth_url,
    },
    paste_deploy: paste,
    glance_store: store,
    reserved_stores: reserved,
    oslo_policy: policy,
    import_filtering_opts: importFiltering,
    glance_download_properties: glanceDownload,
    oslo_limit: limit,
  };
}

/** Loads and validates a glance-api.conf; `env` overrides win over the file. Throws ConfigError listing every problem. */
export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): GlanceConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([
      `${path}: cannot read the configuration file (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    ]);
  }
  const { doc, problems } = readIni(text, path);
  applyEnvOverrides(doc, env);
  return validateConfig(doc, path, problems);
}
