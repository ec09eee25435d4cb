import type {
  KeystoneEndpoint,
  KeystoneRegion,
  KeystoneService,
  KeystoneUser,
  Named,
  NewService,
  PasswordCredentials,
  UserChanges,
} from './keystone-client.js';

/**
 * The admin side of the three systems a GlanceService provisions, as the steps use them. The reconciler
 * reaches them only through these interfaces, opened by an `AdminConnectors`: the live ones in
 * live-admin-clients.ts, in-memory ones in the unit tests. Each implementation counts its own writes.
 */

/** A MariaDB connection as an account that may create databases, users and grants. */
export interface DatabaseAdmin {
  /** The database's comment ('' when it has none); undefined when there is no such database. */
  databaseComment(name: string): Promise<string | undefined>;
  /** CREATE DATABASE with this comment; fails when the database exists already. */
  createDatabase(name: string, comment: string): Promise<void>;
  /** ALTER DATABASE ... COMMENT. */
  setDatabaseComment(name: string, comment: string): Promise<void>;
  /** DROP DATABASE IF EXISTS. */
  dropDatabase(name: string): Promise<void>;
  /** What PASSWORD() makes of `password`: the form mysql.user keeps. */
  passwordHash(password: string): Promise<string>;
  /** The account's stored password hash; undefined when there is no such account. */
  accountHash(user: string, host: string): Promise<string | undefined>;
  createUser(user: string, host: string, password: string): Promise<void>;
  setPassword(user: string, host: string, password: string): Promise<void>;
  /** DROP USER IF EXISTS. */
  dropUser(user: string, host: string): Promise<void>;
  /** SHOW GRANTS FOR the account, one statement per entry. */
  grants(user: string, host: string): Promise<string[]>;
  /** GRANT ALL PRIVILEGES ON `database`.* to the account. */
  grantAll(database: string, user: string, host: string): Promise<void>;
  close(): Promise<void>;
}

/** The Keystone v3 calls the operator makes with an admin token. */
export interface KeystoneAdmin {
  /** Whether Keystone accepts these credentials; a login changes nothing in Keystone. */
  checkPassword(credentials: PasswordCredentials): Promise<boolean>;
  findDomain(name: string): Promise<Named | undefined>;
  findProject(name: string, domainId: string): Promise<Named | undefined>;
  createProject(name: string, domainId: string, description: string): Promise<Named>;
  findUser(name: string, domainId: string): Promise<KeystoneUser | undefined>;
  /** `owner`: the ownership mark, kept with the user. */
  createUser(name: string, domainId: string, password: string, owner: string): Promise<KeystoneUser>;
  updateUser(id: string, changes: UserChanges): Promise<KeystoneUser>;
  /** false when the user was already gone. */
  deleteUser(id: string): Promise<boolean>;
  findRole(name: string): Promise<Named | undefined>;
  hasProjectRole(projectId: string, userId: string, roleId: string): Promise<boolean>;
  grantProjectRole(projectId: string, userId: string, roleId: string): Promise<void>;
  listServices(type: string): Promise<KeystoneService[]>;
  createService(value: NewService): Promise<KeystoneService>;
  updateService(id: string, changes: Partial<Omit<KeystoneService, 'id'>>): Promise<KeystoneService>;
  deleteService(id: string): Promise<boolean>;
  getRegion(id: string): Promise<KeystoneRegion | undefined>;
  createRegion(id: string, description: string): Promise<KeystoneRegion>;
  deleteRegion(id: string): Promise<boolean>;
  listEndpoints(serviceId: string): Promise<KeystoneEndpoint[]>;
  listRegionEndpoints(regionId: string): Promise<KeystoneEndpoint[]>;
  createEndpoint(value: Omit<KeystoneEndpoint, 'id'>): Promise<KeystoneEndpoint>;
  updateEndpoint(id: string, changes: Partial<Omit<KeystoneEndpoint, 'id'>>): Promise<KeystoneEndpoint>;
  deleteEndpoint(id: string): Promise<boolean>;
}

/** The part of `ceph osd dump` the operator reads. */
export interface OsdDump {
  fsid: string;
  pools: Array<{ pool_name: string; application_metadata?: Record<string, unknown> }>;
}

/** A cephx user as `ceph auth get` shows it. */
export interface CephAuth {
  entity: string;
  key: string;
  caps: Record<string, string>;
}

export type CephCaps = Record<'mon' | 'osd', string>;

/** The ceph and rbd commands the operator runs with the admin keyring. */
export interface CephAdmin {
  /** The first call of a session: it is what proves the keyring (CephError EACCES when refused). */
  osdDump(): Promise<OsdDump>;
  createPool(pool: string, pgNum?: number): Promise<void>;
  /** `rbd pool init`: tags the pool for rbd. */
  initRbdPool(pool: string): Promise<void>;
  deletePool(pool: string): Promise<void>;
  /** undefined when there is no such user. */
  getAuth(entity: string): Promise<CephAuth | undefined>;
  /** `ceph auth get-or-create` with these caps. */
  createAuth(entity: string, caps: CephCaps): Promise<void>;
  setCaps(entity: string, caps: CephCaps): Promise<void>;
  /** false when there was no such user. */
  deleteAuth(entity: string): Promise<boolean>;
  /** A value of the monitors' config-key store; undefined when the key is not set. */
  getConfigKey(key: string): Promise<string | undefined>;
  setConfigKey(key: string, value: string): Promise<void>;
  /** Removing a key that is not set succeeds. */
  removeConfigKey(key: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens admin sessions. Failures are the real clients' own errors, which sessions.ts tells apart: mysql2's
 * `code` (ER_ACCESS_DENIED_ERROR for refused credentials), KeystoneError 401, CephError EACCES.
 */
export interface AdminConnectors {
  database(target: { host: string; port: number; user: string; password: string }): Promise<DatabaseAdmin>;
  /** An authenticated session. */
  keystone(authUrl: string, admin: PasswordCredentials): Promise<KeystoneAdmin>;
  ceph(target: { monHost: string; adminUser: string; keyring: string }): Promise<CephAdmin>;
}
