import type { V1Secret } from '@kubernetes/client-node';
import type { GlanceServiceSpec } from '../api/glance-service-types.js';
import type { CephAdmin, CephCaps, OsdDump } from './admin-clients.js';
import { notify, type CleanupContext, type ReconcileContext, type StepCondition } from './context.js';
import { labels, objectNames, ownerReference } from './names.js';
import { applyOwned } from './owned.js';

type CephSpec = NonNullable<GlanceServiceSpec['ceph']>;

/** The caps the install guide gives client.glance. */
export function glanceCaps(pool: string): CephCaps {
  return { mon: 'allow r', osd: `allow class-read object_prefix rbd_children, allow rwx pool=${pool}` };
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
): Promise<StepCondition & { clientFiles?: Record<string, string> }> {
  const c = ctx.spec.ceph;
  const session = ctx.sessions.ceph;
  if (!c || !session) return { status: 'True', reason: 'NotConfigured', message: 'spec.ceph is not set' };
  const { admin, dump } = session;

  const pool = dump.pools.find((p) => p.pool_name === c.pool);
  if (!pool) {
    await admin.createPool(c.pool, c.pgNum);
    await notify(ctx, 'CephPoolCreated', `Created Ceph pool ${c.pool}`);
  }
  if (!pool?.application_metadata?.rbd) {
    await admin.initRbdPool(c.pool);
    await notify(ctx, 'CephPoolInitialized', `Initialised Ceph pool ${c.pool} for rbd`);
  }

  const entity = `client.${c.user}`;
  const caps = glanceCaps(c.pool);
  let auth = await admin.getAuth(entity);
  if (!auth) {
    await admin.createAuth(entity, caps);
    await notify(ctx, 'CephUserCreated', `Created Ceph user ${entity}`);
    auth = await admin.getAuth(entity);
  } else if (!capsMatch(auth.caps, caps)) {
    await admin.setCaps(entity, caps);
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
export async function deleteCephResources(
  ctx: CleanupContext,
  session: { admin: CephAdmin; dump: OsdDump },
): Promise<void> {
  const c = ctx.spec.ceph;
  if (!c) return;
  await session.admin.deleteAuth(`client.${c.user}`);
  if (session.dump.pools.some((p) => p.pool_name === c.pool)) await session.admin.deletePool(c.pool);
  await notify(
    ctx,
    'CephDeleted',
    `Deleted Ceph user client.${c.user} and pool ${c.pool} (deletionPolicy Delete)`,
  );
}
