import type { V1Secret } from '@kubernetes/client-node';
import type { GlanceServiceSpec } from '../api/glance-service-types.js';
import { CEPH_ENOENT, CephError, type CephAdmin } from './ceph-cli.js';
import { notify, type ReconcileContext, type StepResult } from './context.js';
import { labels, objectNames, ownerReference } from './names.js';
import { applyOwned } from './owned.js';

type CephSpec = NonNullable<GlanceServiceSpec['ceph']>;

/** The caps the install guide gives client.glance. */
export function glanceCaps(pool: string): { mon: string; osd: string } {
  return { mon: 'allow r', osd: `allow class-read object_prefix rbd_children, allow rwx pool=${pool}` };
}

interface AuthEntry {
  entity: string;
  key: string;
  caps: Record<string, string>;
}

async function getAuth(admin: CephAdmin, entity: string): Promise<AuthEntry | undefined> {
  try {
    return (await admin.query<AuthEntry[]>(['auth', 'get', entity]))[0];
  } catch (err) {
    if (err instanceof CephError && err.code === CEPH_ENOENT) return undefined;
    throw err;
  }
}

function capsMatch(actual: Record<string, string>, wanted: Record<string, string>): boolean {
  const keys = new Set([...Object.keys(actual), ...Object.keys(wanted)]);
  return [...keys].every((k) => actual[k] === wanted[k]);
}

/** The client files for client.<user>: Rook's keys (userID, userKey) and ready-to-mount ceph.conf and keyring. */
export function keyringSecretData(c: CephSpec, fsid: string, key: string): Record<string, string> {
  return {
    userID: c.user,
    userKey: key,
    [`ceph.client.${c.user}.keyring`]: `[client.${c.user}]\n\tkey = ${key}\n`,
    'ceph.conf': `[global]\nfsid = ${fsid}\nmon_host = ${c.monHost}\n`,
  };
}

/**
 * Step 3: the pool, created and `rbd pool init`ed; client.<user> with the guide's caps, put back if they
 * drift; and the keyring Secret. Without spec.ceph there is nothing to do.
 */
export async function reconcileCeph(
  ctx: ReconcileContext,
): Promise<StepResult & { clientFiles?: Record<string, string> }> {
  const c = ctx.spec.ceph;
  const session = ctx.sessions.ceph;
  if (!c || !session) return { status: 'True', reason: 'NotConfigured', message: 'spec.ceph is not set' };
  const { admin, dump } = session;

  const pool = dump.pools.find((p) => p.pool_name === c.pool);
  if (!pool) {
    await admin.change(['osd', 'pool', 'create', c.pool, ...(c.pgNum ? [String(c.pgNum)] : [])]);
    await notify(ctx, 'CephPoolCreated', `Created Ceph pool ${c.pool}`);
  }
  if (!pool?.application_metadata?.rbd) {
    await admin.rbd(['pool', 'init', c.pool]);
    await notify(ctx, 'CephPoolInitialized', `Initialised Ceph pool ${c.pool} for rbd`);
  }

  const entity = `client.${c.user}`;
  const caps = glanceCaps(c.pool);
  let auth = await getAuth(admin, entity);
  if (!auth) {
    await admin.change(['auth', 'get-or-create', entity, 'mon', caps.mon, 'osd', caps.osd]);
    await notify(ctx, 'CephUserCreated', `Created Ceph user ${entity}`);
    auth = await getAuth(admin, entity);
  } else if (!capsMatch(auth.caps, caps)) {
    await admin.change(['auth', 'caps', entity, 'mon', caps.mon, 'osd', caps.osd]);
    await notify(ctx, 'CephCapsRestored', `Restored the caps of Ceph user ${entity}`);
  }
  if (!auth) throw new Error(`Ceph user ${entity} was created but cannot be read back`);

  const data = keyringSecretData(c, dump.fsid, auth.key);
  const { gs } = ctx;
  await applyOwned<V1Secret>(ctx, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: objectNames(gs.metadata.name).cephClient,
      namespace: gs.metadata.namespace,
      labels: labels(gs.metadata.name, 'ceph-client'),
      ownerReferences: [ownerReference(gs)],
    },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  });
  return {
    status: 'True',
    reason: 'Provisioned',
    message: `Pool ${c.pool} (rbd) and ${entity} with the install guide's caps`,
    clientFiles: data,
  };
}

/** deletionPolicy Delete: the user and the pool go; either already gone is fine. */
export async function deleteCephResources(ctx: ReconcileContext): Promise<void> {
  const c = ctx.spec.ceph;
  const session = ctx.sessions.ceph;
  if (!c || !session) return;
  await session.admin.change(['auth', 'del', `client.${c.user}`]).catch(ignoreMissing);
  if (session.dump.pools.some((p) => p.pool_name === c.pool)) {
    await session.admin.change(['osd', 'pool', 'rm', c.pool, c.pool, '--yes-i-really-really-mean-it']);
  }
  await notify(
    ctx,
    'CephDeleted',
    `Deleted Ceph user client.${c.user} and pool ${c.pool} (deletionPolicy Delete)`,
  );
}

function ignoreMissing(err: unknown): void {
  if (!(err instanceof CephError && err.code === CEPH_ENOENT)) throw err;
}
