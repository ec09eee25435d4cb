import type { Logger } from 'pino';
import { GLANCE_SERVICE } from '../api/glance-service-types.js';
import {
  deletionPolicyOf,
  parseImageSpec,
  type ImageObject,
  type ImageSpec,
  type ImageStatus,
} from '../api/image-types.js';
import { deletionClock, givesUp, givingUpNote, retryBefore, type DeletionClock } from '../runtime/cleanup.js';
import type { ReconcileResult } from '../runtime/controller.js';
import { deleteImage } from './operations.js';
import { mayDelete, NOT_OWNED, ownerOf } from './ownership.js';
import { imageEvent, type ImageDeps } from './pass.js';
import { errorText, outcomes, terminalReason, writeImageStatus } from './status.js';
import { resolveTarget, type GlanceConnector, type GlanceTarget } from './target.js';

/**
 * A deleted Image: deletionPolicy Delete removes its Glance image(s), the served, pending and retired ones, each
 * only if marked as this Image's or adopted under an explicit Delete (ownership.ts); Orphan, the default of an
 * Image that adopts, leaves them. Undefined once done (the finalizer then goes). Bounded: what cannot be deleted is
 * retried until the deadline (Stalled CleanupBlocked while only a person can help, which switching to Orphan
 * also resolves), then left, named in a Warning Event. It is left at once when nothing can help any more: the
 * GlanceService it names is gone (its Keystone user went with it), or its namespace is going and the
 * credentials cannot be read or are refused.
 */
export async function deleteImages(
  deps: ImageDeps,
  connector: GlanceConnector,
  obj: ImageObject,
  log: Logger,
): Promise<ReconcileResult | undefined> {
  const parsed = parseImageSpec(obj.spec);
  const status: ImageStatus = { ...obj.status };
  const ids = [status.imageID, status.pendingImageID, status.retiredImageID].filter(
    (id): id is string => !!id,
  );
  if ('spec' in parsed && deletionPolicyOf(parsed.spec) === 'Delete' && ids.length) {
    const clock = await deletionClock(deps.kube, obj, deps.deletionTimeoutMs);
    let target: GlanceTarget;
    try {
      target = await resolveTarget(deps.kube, obj.metadata.namespace, parsed.spec);
    } catch (err) {
      // The Keystone user went with the GlanceService; in a namespace that is going, the GlanceService and
      // Secrets the target is read from never come back.
      const gone = await glanceServiceGone(deps, obj, parsed.spec);
      if (gone) return abandon(deps, obj, ids, gone);
      if (clock.namespaceGoing) {
        return abandon(deps, obj, ids, `${errorText(err)} (its namespace is being deleted)`);
      }
      if (new Date() >= clock.giveUpAt)
        return abandon(deps, obj, ids, `${errorText(err)} (the deletion timed out)`);
      return retryLater(deps, obj, status, clock, err);
    }
    try {
      const glance = await connector.connect(target);
      const owner = ownerOf(obj, parsed.spec, glance);
      for (const id of ids) {
        const done = await deleteImage(glance, id, (i) => mayDelete(i, owner));
        if (done === 'deleted') {
          await imageEvent(
            deps,
            obj,
            'Normal',
            'Deleted',
            `Deleted image ${id} (deletionPolicy Delete)`,
            'Delete',
          );
        } else if (done === 'kept') {
          await imageEvent(
            deps,
            obj,
            'Normal',
            'NotOwned',
            `Left image ${id} in Glance: ${NOT_OWNED}`,
            'Delete',
          );
        }
      }
    } catch (err) {
      if (givesUp(clock, err)) {
        const why =
          new Date() >= clock.giveUpAt ? 'the deletion timed out' : 'its namespace is being deleted';
        return abandon(deps, obj, ids, `${errorText(err)} (${why})`);
      }
      return retryLater(deps, obj, status, clock, err);
    }
  } else if (ids.length) {
    await imageEvent(
      deps,
      obj,
      'Normal',
      'Orphaned',
      `Left image ${ids.join(', ')} in Glance (deletionPolicy Orphan${adoptedDefault(parsed) ? ADOPTED_DEFAULT : ''})`,
      'Delete',
    );
  }
  log.info({ imageIDs: ids }, 'image finalized');
  return undefined;
}

const ADOPTED_DEFAULT = ', the default of an Image that adopts';

function adoptedDefault(parsed: { spec: ImageSpec } | { error: string }): boolean {
  return 'spec' in parsed && !!parsed.spec.adopt && !parsed.spec.deletionPolicy;
}

/** Why waiting cannot help when the named GlanceService is gone: its deletion removed the Keystone user. */
async function glanceServiceGone(
  deps: ImageDeps,
  obj: ImageObject,
  spec: ImageSpec,
): Promise<string | undefined> {
  const ref = spec.glanceServiceRef;
  if (!ref) return undefined;
  const gs = await deps.kube.getCustom(GLANCE_SERVICE, obj.metadata.namespace, ref.name);
  return gs
    ? undefined
    : `GlanceService ${obj.metadata.namespace}/${ref.name} is gone, and its Keystone user with it`;
}

async function abandon(deps: ImageDeps, obj: ImageObject, ids: string[], why: string): Promise<undefined> {
  const images =
    ids.length === 1 ? `Glance image ${ids[0]} was left` : `Glance images ${ids.join(', ')} were left`;
  await imageEvent(deps, obj, 'Warning', 'CleanupAbandoned', `${images}: ${why}`, 'Delete');
  return undefined;
}

/** Not yet given up: Stalled CleanupBlocked when a person must act, else thrown for the backoff. */
async function retryLater(
  deps: ImageDeps,
  obj: ImageObject,
  status: ImageStatus,
  clock: DeletionClock,
  err: unknown,
): Promise<ReconcileResult> {
  const reason = terminalReason(err);
  status.lastError = errorText(err);
  await writeImageStatus(
    deps.kube,
    obj,
    status,
    outcomes.deleting(`${status.lastError}; ${givingUpNote(clock)}`, !!reason),
  );
  if (reason) return { requeueAfterMs: retryBefore(clock, deps.stalledRetryMs) };
  throw err;
}
