import type { V1Secret } from '@kubernetes/client-node';
import type { GlanceServiceSpec } from '../api/glance-service-types.js';
import type { CephAdmin, CephCaps, OsdDump } from './admin-clients.js';
import { notify, type CleanupContext, type ReconcileContext, type StepCondition } from './context.js';
import { labels, objectNames, ownerReference } from './names.js';
import { applyOwned } from './owned.js';
import { claim, formatMark, isMarkedBy, markOf, parseMark, type Claim } from './ownership.js';

type CephSpec = NonNullable<GlanceServiceSpec['ceph']>;

const ADOPT_FIELD = 'spec.ceph.adopt';

/** Where the monitors' config-key store keeps the mark of the pool and of the user a GlanceService created. */
export function markKeys(c: Pick<CephSpec, 'pool' | 'user'>): { pool: string; auth: string } {
  return { pool: `glance-operator/pool/${c.pool}`, auth: `glance-operator/auth/client.${c.user}` };
}

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
 * drift; and the keyring Secret. Without spec.ceph there is nothing to do. An existing pool or user is used
 * only if its mark in the config-key store is this GlanceService's or the spec adopts it, both decided before
 * anything is written; the mark is set before the object is created, so a kill in between leaves a mark to
 * create the object under, never an object of ours without one.
 */
export async function reconcileCeph(
  ctx: ReconcileContext,
): Promise<StepCondition & { clientFiles?: Record<string, string> }> {
  const c = ctx.spec.ceph;
  const session = ctx.sessions.ceph;
  if (!c || !session) return { status: 'True', reason: 'NotConfigured', message: 'spec.ceph is not set' };
  const { admin, dump } = session;
  const { gs } = ctx;
  const keys = markKeys(c);
  const entity = `client.${c.user}`;

  const pool = dump.pools.find((p) => p.pool_name === c.pool);
  const poolMark = await admin.getConfigKey(keys.pool);
  const poolClaim: Claim | 'new' = pool
    ? claim(gs, parseMark(poolMark), c.adopt, `Ceph pool ${c.pool}`, ADOPT_FIELD)
    : 'new';
  let auth = await admin.getAuth(entity);
  const authMark = await admin.getConfigKey(keys.auth);
  const authClaim: Claim | 'new' = auth
    ? claim(gs, parseMark(authMark), c.adopt, `Ceph user ${entity}`, ADOPT_FIELD)
    : 'new';
  const mine = formatMark(markOf(gs));

  if ((poolClaim === 'new' || poolClaim === 'take-back') && poolMark?.trim() !== mine) {
    await admin.setConfigKey(keys.pool, mine);
  }
  if (!pool) {
    await admin.createPool(c.pool, c.pgNum);
    await notify(ctx, 'CephPoolCreated', `Created Ceph pool ${c.pool}`);
  } else if (poolClaim === 'take-back') {
    await notify(ctx, 'CephPoolTakenBack', takenBack(`Ceph pool ${c.pool}`, poolMark));
  }
  if (!pool?.application_metadata?.rbd) {
    await admin.initRbdPool(c.pool);
    await notify(ctx, 'CephPoolInitialized', `Initialised Ceph pool ${c.pool} for rbd`);
  }

  const caps = glanceCaps(c.pool);
  if ((authClaim === 'new' || authClaim === 'take-back') && authMark?.trim() !== mine) {
    await admin.setConfigKey(keys.auth, mine);
  }
  if (!auth) {
    await admin.createAuth(entity, caps);
    await notify(ctx, 'CephUserCreated', `Created Ceph user ${entity}`);
    auth = await admin.getAuth(entity);
  } else {
    if (authClaim === 'take-back') {
      await notify(ctx, 'CephUserTakenBack', takenBack(`Ceph user ${entity}`, authMark));
    }
    if (!capsMatch(auth.caps, caps)) {
      await admin.setCaps(entity, caps);
      await notify(ctx, 'CephCapsRestored', `Restored the caps of Ceph user ${entity}`);
    }
  }
  if (!auth) throw new Error(`Ceph user ${entity} was created but cannot be read back`);

  const data = keyringSecretData(c, dump.fsid, auth.key);
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
  const message = `Pool ${c.pool} (rbd) and ${entity} with the install guide's caps`;
  const kept = [
    ...(poolClaim === 'adopted' ? [`pool ${c.pool}`] : []),
    ...(authClaim === 'adopted' ? [`user ${entity}`] : []),
  ];
  // The condition's reason changing to Adopted is what records the adoption's Event.
  return kept.length
    ? {
        status: 'True',
        reason: 'Adopted',
        message: `${message}; adopted, never deleted: ${kept.join(', ')}`,
        clientFiles: data,
      }
    : { status: 'True', reason: 'Provisioned', message, clientFiles: data };
}

function takenBack(what: string, markText: string | undefined): string {
  const earlier = parseMark(markText);
  return `Took back ${what}, left by an earlier GlanceService ${earlier?.owner} (uid ${earlier?.uid}): marked as this one's`;
}

/**
 * deletionPolicy Delete: the user and the pool go when their marks are this GlanceService's, each before its
 * mark (a kill in between leaves the mark to finish with); either already gone is fine. Others are left.
 */
export async function deleteCephResources(
  ctx: CleanupContext,
  session: { admin: CephAdmin; dump: OsdDump },
): Promise<void> {
  const c = ctx.spec.ceph;
  if (!c) return;
  const { admin, dump } = session;
  const keys = markKeys(c);
  const entity = `client.${c.user}`;
  const deleted: string[] = [];
  const left: string[] = [];

  if (isMarkedBy(ctx.gs, await admin.getConfigKey(keys.auth))) {
    if (await admin.deleteAuth(entity)) deleted.push(`user ${entity}`);
    await admin.removeConfigKey(keys.auth);
  } else if (await admin.getAuth(entity)) {
    left.push(`user ${entity}`);
  }
  const pool = dump.pools.some((p) => p.pool_name === c.pool);
  if (isMarkedBy(ctx.gs, await admin.getConfigKey(keys.pool))) {
    if (pool) {
      await admin.deletePool(c.pool);
      deleted.push(`pool ${c.pool}`);
    }
    await admin.removeConfigKey(keys.pool);
  } else if (pool) {
    left.push(`pool ${c.pool}`);
  }

  if (deleted.length) {
    await notify(ctx, 'CephDeleted', `Deleted Ceph ${deleted.join(' and ')} (deletionPolicy Delete)`);
  }
  if (left.length) {
    await notify(ctx, 'CephLeft', `Left Ceph ${left.join(' and ')}: not created by this GlanceService`);
  }
}
