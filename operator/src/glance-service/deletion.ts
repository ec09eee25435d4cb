import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { z } from 'zod';
import {
  GLANCE_SERVICE,
  parseGlanceServiceSpec,
  type GlanceServiceSpec,
} from '../api/glance-service-types.js';
import { IMAGE_API_VERSION, IMAGE_KIND } from '../api/image-types.js';
import { deletionClock, givesUp, givingUpNote, retryBefore, type DeletionClock } from '../runtime/cleanup.js';
import type { ReconcileResult } from '../runtime/controller.js';
import { errorMessage, TerminalError } from '../runtime/errors.js';
import { removeFinalizer } from '../runtime/finalizers.js';
import type { AdminConnectors } from './admin-clients.js';
import { deleteCephResources } from './ceph.js';
import { notify, type CleanupContext } from './context.js';
import { deleteDatabase } from './database.js';
import { deleteKeystoneRegistration } from './keystone.js';
import { FINALIZER, objectNames } from './names.js';
import { openCeph, openDatabase, openKeystone } from './sessions.js';
import { writeGlanceStatus, type StatusUpdate } from './status.js';
import type { UrlPolicy } from '../net/url-policy.js';

/** How often a deleted GlanceService looks again at the Images it waits for (they have no watch on it). */
export const IMAGES_POLL_MS = 5_000;

export interface DeletionDeps {
  connect: AdminConnectors;
  /** Keystone's URL is checked again at deletion: the spec may have changed since it was last reached. */
  urlPolicy: UrlPolicy;
  /** How long after its deletionTimestamp a GlanceService keeps trying; then it leaves what is left. */
  deletionTimeoutMs: number;
  stalledRetryMs: number;
}

/** One thing deletion removes outside the GlanceService, named as a Warning names it when it is left. */
interface Part {
  left: string;
  remove(): Promise<void>;
}

interface Failure {
  part: Part;
  error: unknown;
}

const usesGlanceService = z.object({ glanceServiceRef: z.object({ name: z.string() }).optional() });

/** The Images in the GlanceService's namespace whose spec names it: they upload with its Keystone user. */
export async function imagesUsing(ctx: Pick<CleanupContext, 'kube' | 'gs'>): Promise<string[]> {
  const { namespace, name } = ctx.gs.metadata;
  const images = await ctx.kube.list(IMAGE_API_VERSION, IMAGE_KIND, namespace, '');
  return images
    .filter(
      (i) =>
        usesGlanceService.safeParse((i as { spec?: unknown }).spec).data?.glanceServiceRef?.name === name,
    )
    .map((i) => i.metadata.name ?? '')
    .sort();
}

function cleanupParts(ctx: CleanupContext, deps: DeletionDeps): Part[] {
  const { gs, spec, kube } = ctx;
  const opening = { kube, gs, spec, connect: deps.connect, policy: deps.urlPolicy };
  const k = spec.keystone;
  const parts: Part[] = [
    {
      left: `Keystone service ${k.serviceName}, its endpoints in ${k.region} and user ${k.userName} were left`,
      remove: async () => deleteKeystoneRegistration(ctx, await openKeystone(opening)),
    },
  ];
  if (spec.deletionPolicy !== 'Delete') return parts;
  parts.push({
    left: `MariaDB database ${spec.database.name} and user ${spec.database.user} were left`,
    remove: async () => {
      const db = await openDatabase(opening);
      try {
        await deleteDatabase(ctx, db);
      } finally {
        await db.close().catch(() => undefined);
      }
    },
  });
  const c = spec.ceph;
  if (c) {
    parts.push({
      left: `Ceph user client.${c.user} and pool ${c.pool} were left`,
      remove: async () => {
        const ceph = await openCeph(opening);
        if (!ceph) return;
        try {
          await deleteCephResources(ctx, ceph);
        } finally {
          await ceph.admin.close().catch(() => undefined);
        }
      },
    });
  }
  const claim = objectNames(gs.metadata.name).imagesClaim;
  parts.push({
    left: `PersistentVolumeClaim ${claim} was left`,
    remove: () => deleteImagesClaim(ctx, claim),
  });
  return parts;
}

async function deleteImagesClaim(ctx: CleanupContext, claim: string): Promise<void> {
  const { gs, kube } = ctx;
  const ref = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    namespace: gs.metadata.namespace,
    name: claim,
  };
  if ((await kube.read<V1PersistentVolumeClaim>(ref)) && (await kube.delete(ref))) {
    await notify(ctx, 'ImagesClaimDeleted', `Deleted PersistentVolumeClaim ${claim} (deletionPolicy Delete)`);
  }
}

/**
 * Deletion of a GlanceService, bounded. It first waits for the Images that use it, which delete their Glance
 * images with its Keystone user, unless its namespace is going (their Secrets go with it, so waiting would
 * help no one). Then each system is cleaned up on its own, with its own admin credentials: Keystone always,
 * with deletionPolicy Delete also MariaDB, Ceph and the images claim. What could not be removed is retried
 * until the deadline (or, in a namespace that is going, not at all when only a person could fix it); then it
 * is left, named in a Warning Event, and the finalizer goes.
 */
export async function finalizeGlanceService(
  ctx: Omit<CleanupContext, 'spec'>,
  deps: DeletionDeps,
): Promise<ReconcileResult> {
  const { gs, kube } = ctx;
  const clock = await deletionClock(kube, gs, deps.deletionTimeoutMs);
  const parsed = parseGlanceServiceSpec(gs.spec);
  if ('error' in parsed) {
    const error = new TerminalError(
      'CleanupBlocked',
      `cannot clean up with an invalid spec: ${parsed.error}`,
    );
    return failed({ ...ctx, spec: undefined }, deps, clock, [{ part: nothingCleaned, error }]);
  }
  const full: CleanupContext = { ...ctx, spec: parsed.spec };
  const waiting = await waitForImages(full, clock);
  if (waiting) return waiting;
  const failures: Failure[] = [];
  for (const part of cleanupParts(full, deps)) {
    try {
      await part.remove();
    } catch (error) {
      failures.push({ part, error });
    }
  }
  if (failures.length) return failed(full, deps, clock, failures);
  if (parsed.spec.deletionPolicy !== 'Delete') {
    await notify(
      full,
      'Retained',
      'Kept the database, its users, the Ceph user and pool and the images claim (deletionPolicy Retain)',
    );
  }
  await removeFinalizer(kube, GLANCE_SERVICE, gs, FINALIZER);
  return {};
}

const nothingCleaned: Part = {
  left: 'Nothing it made in Keystone, MariaDB or Ceph was cleaned up',
  remove: () => Promise.resolve(),
};

async function waitForImages(
  ctx: CleanupContext,
  clock: DeletionClock,
): Promise<ReconcileResult | undefined> {
  if (clock.namespaceGoing) return undefined;
  const images = await imagesUsing(ctx);
  if (!images.length) return undefined;
  const named = `${images.slice(0, 5).join(', ')}${images.length > 5 ? ', ...' : ''}`;
  if (new Date() >= clock.giveUpAt) {
    await notify(
      ctx,
      'StoppedWaitingForImages',
      `Stopped waiting for ${images.length} Image(s) that use it (${named}): its Keystone user goes now, ` +
        'and their Glance images stay unless they are deleted by other means',
      'Warning',
    );
    return undefined;
  }
  const waiting = {
    reason: 'WaitingForImages',
    message:
      `waiting for ${images.length} Image(s) that use it to be deleted first (${named}): they delete their ` +
      `Glance images with its Keystone user; ${givingUpNote(clock)}`,
  };
  const before = ctx.gs.status?.conditions?.find((c) => c.type === 'Ready')?.reason;
  await writeStatus(ctx, { steps: [], waiting });
  if (before !== waiting.reason) await notify(ctx, waiting.reason, waiting.message);
  return { requeueAfterMs: retryBefore(clock, IMAGES_POLL_MS) };
}

/**
 * What failed: left behind with a Warning when every failure gives up, else reported and retried (Stalled
 * when a person must act, a thrown error for the controller's backoff when it is an outage).
 */
async function failed(
  ctx: Omit<CleanupContext, 'spec'> & { spec: GlanceServiceSpec | undefined },
  deps: DeletionDeps,
  clock: DeletionClock,
  failures: Failure[],
): Promise<ReconcileResult> {
  const message = failures.map((f) => `${f.part.left}: ${errorMessage(f.error)}`).join('; ');
  if (failures.every((f) => givesUp(clock, f.error))) {
    const why = new Date() >= clock.giveUpAt ? 'the deletion timed out' : 'its namespace is being deleted';
    await notify(ctx, 'CleanupAbandoned', `${message} (${why})`, 'Warning');
    await removeFinalizer(ctx.kube, GLANCE_SERVICE, ctx.gs, FINALIZER);
    return {};
  }
  const terminal = failures.find((f) => f.error instanceof TerminalError);
  const reported = `${message}; ${givingUpNote(clock)}`;
  if (terminal) {
    const reason = terminal.error instanceof TerminalError ? terminal.error.reason : 'CleanupBlocked';
    await writeStatus(ctx, { steps: [], stalled: { reason, message: reported } });
    return { requeueAfterMs: retryBefore(clock, deps.stalledRetryMs) };
  }
  await writeStatus(ctx, { steps: [], waiting: { reason: 'CleanupRetrying', message: reported } });
  throw failures[0]?.error;
}

function writeStatus(
  ctx: Pick<CleanupContext, 'kube' | 'events' | 'gs'>,
  update: StatusUpdate,
): Promise<void> {
  return writeGlanceStatus(ctx.kube, ctx.events, ctx.gs, update);
}
