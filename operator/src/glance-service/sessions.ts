import type { GlanceService, GlanceServiceSpec } from '../api/glance-service-types.js';
import type { UrlPolicy } from '../net/url-policy.js';
import { errorMessage, TerminalError } from '../runtime/errors.js';
import type { KubeClient } from '../runtime/kube-client.js';
import type { AdminConnectors, CephAdmin, DatabaseAdmin, KeystoneAdmin, OsdDump } from './admin-clients.js';
import { CEPH_EACCES, CephError } from './ceph-cli.js';
import type { StepType } from './context.js';
import { secretsOf } from './credentials.js';
import { KeystoneError } from './keystone-client.js';

/** Admin connections to the three systems, opened (and so their credentials proven) before any change. */
export interface AdminSessions {
  db: DatabaseAdmin;
  keystone: KeystoneAdmin;
  ceph: { admin: CephAdmin; dump: OsdDump } | undefined;
  close(): Promise<void>;
}

/**
 * The sessions, or the step whose session could not be opened and why: a TerminalError when a credential
 * must be fixed, any other error when the system could not be reached.
 */
export type OpenedSessions = { sessions: AdminSessions } | { step: StepType; error: unknown };

export interface Opening {
  kube: KubeClient;
  gs: GlanceService;
  spec: GlanceServiceSpec;
  connect: AdminConnectors;
  policy: UrlPolicy;
}

function adminSource(gs: GlanceService, secret: string): string {
  return `the admin credentials in Secret ${gs.metadata.namespace}/${secret}`;
}

export async function openDatabase({ kube, gs, spec, connect }: Opening): Promise<DatabaseAdmin> {
  const { host, port, adminSecretRef: ref } = spec.database;
  const ns = gs.metadata.namespace;
  const secrets = secretsOf(kube, gs);
  const user = await secrets.value(ns, ref.name, ref.usernameKey);
  const password = await secrets.value(ns, ref.name, ref.passwordKey);
  try {
    return await connect.database({ host, port, user, password });
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

export async function openKeystone({ kube, gs, spec, connect }: Opening): Promise<KeystoneAdmin> {
  const k = spec.keystone;
  const ns = gs.metadata.namespace;
  const secrets = secretsOf(kube, gs);
  const admin = {
    username: await secrets.value(ns, k.adminSecretRef.name, k.adminSecretRef.usernameKey),
    password: await secrets.value(ns, k.adminSecretRef.name, k.adminSecretRef.passwordKey),
    userDomainName: k.adminUserDomainName,
    project: { name: k.adminProjectName, domainName: k.adminProjectDomainName },
  };
  try {
    return await connect.keystone(k.authUrl, admin);
  } catch (err) {
    // The URL policy refusing a connection (EndpointNotAllowed), redirected or resolved elsewhere since.
    if (err instanceof TerminalError) throw err;
    if (err instanceof KeystoneError && err.status === 401) {
      throw new TerminalError(
        'KeystoneAuthFailed',
        `Keystone at ${k.authUrl} refused ${adminSource(gs, k.adminSecretRef.name)} ` +
          `(project ${k.adminProjectName}): fix the Secret`,
      );
    }
    throw new Error(`Keystone at ${k.authUrl} is unreachable: ${errorMessage(err)}`);
  }
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

export async function openCeph({ kube, gs, spec, connect }: Opening): Promise<AdminSessions['ceph']> {
  const c = spec.ceph;
  if (!c) return undefined;
  const keyring = await secretsOf(kube, gs).value(
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
  const admin = await connect.ceph({ monHost: c.monHost, adminUser: c.adminUser, keyring });
  try {
    // One call proves the credentials and reads the fsid and the pools the Ceph step needs.
    return { admin, dump: await admin.osdDump() };
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
 * created, so a bad Secret never leaves a half-provisioned service behind. A keystone.authUrl the URL policy
 * refuses (Stalled, EndpointNotAllowed) stops it before any credential is read or sent.
 */
export async function openSessions(opening: Opening): Promise<OpenedSessions> {
  try {
    await opening.policy.check(new URL(opening.spec.keystone.authUrl), 'EndpointNotAllowed');
  } catch (error) {
    return { step: 'KeystoneReady', error };
  }
  let db: DatabaseAdmin;
  try {
    db = await openDatabase(opening);
  } catch (error) {
    return { step: 'DatabaseReady', error };
  }
  let step: StepType = 'KeystoneReady';
  try {
    const keystone = await openKeystone(opening);
    step = 'CephReady';
    const ceph = await openCeph(opening);
    return {
      sessions: {
        db,
        keystone,
        ceph,
        async close() {
          await Promise.allSettled([db.close(), ceph?.admin.close()]);
        },
      },
    };
  } catch (error) {
    await db.close().catch(() => undefined);
    return { step, error };
  }
}
