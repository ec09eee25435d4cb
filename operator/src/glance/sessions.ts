import mysql, { type Connection } from 'mysql2/promise';
import type { GlanceService, GlanceServiceSpec } from '../api/glance-service-types.js';
import { errorMessage, TerminalError } from '../runtime/errors.js';
import type { KubeClient } from '../runtime/kube-client.js';
import type { OperatorMetrics } from '../runtime/operator-metrics.js';
import { readSecretValue } from '../runtime/secrets.js';
import { CEPH_EACCES, CephAdmin, CephError } from './ceph-cli.js';
import type { StepType } from './context.js';
import { KeystoneClient, KeystoneError } from './keystone-client.js';

/** The part of `ceph osd dump` the operator reads. */
export interface OsdDump {
  fsid: string;
  pools: Array<{ pool_name: string; application_metadata?: Record<string, unknown> }>;
}

/** Admin connections to the three systems, opened (and so their credentials proven) before any change. */
export interface AdminSessions {
  db: Connection;
  keystone: KeystoneClient;
  ceph: { admin: CephAdmin; dump: OsdDump } | undefined;
  close(): Promise<void>;
}

/** Opening a session failed; `step` is the condition it belongs to, `cause` a TerminalError or a transient error. */
export class SessionError extends Error {
  override readonly name = 'SessionError';
  constructor(
    readonly step: StepType,
    override readonly cause: unknown,
  ) {
    super(errorMessage(cause));
  }
}

async function step<T>(name: StepType, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (err) {
    throw new SessionError(name, err);
  }
}

function adminSource(gs: GlanceService, secret: string): string {
  return `the admin credentials in Secret ${gs.metadata.namespace}/${secret}`;
}

async function openDatabase(
  kube: KubeClient,
  gs: GlanceService,
  spec: GlanceServiceSpec,
): Promise<Connection> {
  const { host, port, adminSecretRef: ref } = spec.database;
  const ns = gs.metadata.namespace;
  const user = await readSecretValue(kube, ns, ref.name, ref.usernameKey);
  const password = await readSecretValue(kube, ns, ref.name, ref.passwordKey);
  try {
    return await mysql.createConnection({ host, port, user, password, connectTimeout: 10_000 });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ER_ACCESS_DENIED_ERROR' || code === 'ER_DBACCESS_DENIED_ERROR') {
      throw new TerminalError(
        'DatabaseAuthFailed',
        `MariaDB at ${host}:${port} refused ${adminSource(gs, ref.name)}: fix the Secret`,
      );
    }
    throw new Error(`MariaDB at ${host}:${port} is unreachable: ${code ?? errorMessage(err)}`);
  }
}

async function openKeystone(
  kube: KubeClient,
  gs: GlanceService,
  spec: GlanceServiceSpec,
  metrics: OperatorMetrics,
): Promise<KeystoneClient> {
  const k = spec.keystone;
  const ns = gs.metadata.namespace;
  const client = new KeystoneClient(
    k.authUrl,
    {
      username: await readSecretValue(kube, ns, k.adminSecretRef.name, k.adminSecretRef.usernameKey),
      password: await readSecretValue(kube, ns, k.adminSecretRef.name, k.adminSecretRef.passwordKey),
      userDomainName: k.adminUserDomainName,
      project: { name: k.adminProjectName, domainName: k.adminProjectDomainName },
    },
    (operation) => metrics.writes.inc({ system: 'keystone', operation }),
  );
  try {
    await client.authenticate();
  } catch (err) {
    if (err instanceof KeystoneError && err.status === 401) {
      throw new TerminalError(
        'KeystoneAuthFailed',
        `Keystone at ${k.authUrl} refused ${adminSource(gs, k.adminSecretRef.name)} ` +
          `(project ${k.adminProjectName}): fix the Secret`,
      );
    }
    throw new Error(`Keystone at ${k.authUrl} is unreachable: ${errorMessage(err)}`);
  }
  return client;
}

/**
 * Whether `text` is a cephx secret as keyrings hold it: the base64 of an AES key's encoding, that is type
 * (u16, 1), creation time (two u32), length (u16) and that many bytes of secret.
 */
export function isCephxKey(text: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return false;
  const raw = Buffer.from(text, 'base64');
  if (raw.length < 12) return false;
  const length = raw.readUInt16LE(10);
  return raw.readUInt16LE(0) === 1 && length > 0 && raw.length >= 12 + length;
}

async function openCeph(
  kube: KubeClient,
  gs: GlanceService,
  spec: GlanceServiceSpec,
  metrics: OperatorMetrics,
): Promise<{ admin: CephAdmin; dump: OsdDump } | undefined> {
  const c = spec.ceph;
  if (!c) return undefined;
  const keyring = await readSecretValue(
    kube,
    gs.metadata.namespace,
    c.adminSecretRef.name,
    c.adminSecretRef.keyringKey,
  );
  const key = /^\s*key\s*=\s*(\S+)/m.exec(keyring)?.[1];
  if (!key || !isCephxKey(key)) {
    // The ceph CLI reports a malformed key as an I/O error, which would be retried as an outage forever.
    throw new TerminalError(
      'InvalidCephKeyring',
      `key "${c.adminSecretRef.keyringKey}" of Secret ${gs.metadata.namespace}/${c.adminSecretRef.name} is not a ` +
        `keyring: ${key ? 'its "key =" value is not a cephx key' : 'no "key =" line'}`,
    );
  }
  const admin = await CephAdmin.open({
    monHost: c.monHost,
    adminUser: c.adminUser,
    keyring,
    onWrite: (operation) => metrics.writes.inc({ system: 'ceph', operation }),
  });
  try {
    // One call proves the credentials and reads the fsid and the pools the Ceph step needs.
    return { admin, dump: await admin.query<OsdDump>(['osd', 'dump']) };
  } catch (err) {
    await admin.close();
    if (err instanceof CephError && err.code === CEPH_EACCES) {
      throw new TerminalError(
        'CephAuthFailed',
        `Ceph (mon_host ${c.monHost}) refused client.${c.adminUser} with the keyring in Secret ` +
          `${gs.metadata.namespace}/${c.adminSecretRef.name}: fix the Secret`,
      );
    }
    throw new Error(`Ceph (mon_host ${c.monHost}) is unreachable: ${errorMessage(err)}`);
  }
}

/**
 * Opens all three sessions or none: a refused credential anywhere stops the reconcile before anything is
 * created, so a bad Secret never leaves a half-provisioned service behind.
 */
export async function openSessions(
  kube: KubeClient,
  gs: GlanceService,
  spec: GlanceServiceSpec,
  metrics: OperatorMetrics,
): Promise<AdminSessions> {
  const db = await step('DatabaseReady', () => openDatabase(kube, gs, spec));
  try {
    const keystone = await step('KeystoneReady', () => openKeystone(kube, gs, spec, metrics));
    const ceph = await step('CephReady', () => openCeph(kube, gs, spec, metrics));
    return {
      db,
      keystone,
      ceph,
      async close() {
        await Promise.allSettled([db.end(), ceph?.admin.close()]);
      },
    };
  } catch (err) {
    await db.end().catch(() => undefined);
    throw err;
  }
}
