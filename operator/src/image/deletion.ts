import type { Logger } from 'pino';
import { parseImageSpec, type ImageObject, type ImageStatus } from '../api/image-types.js';
import type { ReconcileResult } from '../runtime/controller.js';
import { deleteImage } from './operations.js';
import { imageEvent, type ImageDeps } from './pass.js';
import { errorText, outcomes, terminalReason, writeImageStatus } from './status.js';
import { resolveTarget, type GlanceConnector } from './target.js';

/**
 * A deleted Image: deletionPolicy Delete removes its Glance image(s), the served, pending and retired ones;
 * Orphan leaves them. Undefined once done (the finalizer then goes); while credentials no longer work the
 * Image is Stalled CleanupBlocked, which switching to Orphan resolves.
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
  if ('spec' in parsed && parsed.spec.deletionPolicy === 'Delete' && ids.length) {
    try {
      const glance = await connector.connect(
        await resolveTarget(deps.kube, obj.metadata.namespace, parsed.spec),
      );
      for (const id of ids) {
        if (await deleteImage(glance, id)) {
          await imageEvent(
            deps,
            obj,
            'Normal',
            'Deleted',
            `Deleted image ${id} (deletionPolicy Delete)`,
            'Delete',
          );
        }
      }
    } catch (err) {
      const reason = terminalReason(err);
      status.lastError = errorText(err);
      await writeImageStatus(deps.kube, obj, status, outcomes.deleting(status.lastError, !!reason));
      if (reason) return { requeueAfterMs: deps.stalledRetryMs };
      throw err;
    }
  } else if (ids.length) {
    await imageEvent(
      deps,
      obj,
      'Normal',
      'Orphaned',
      `Left image ${ids.join(', ')} in Glance (deletionPolicy Orphan)`,
      'Delete',
    );
  }
  log.info({ imageIDs: ids }, 'image finalized');
  return undefined;
}
