import { deletionPolicyOf } from '../api/image-types.js';
import type { GlanceImage } from './glance-images.js';
import { createImage, deleteImage, findImage, repairDrift } from './operations.js';
import { isMarked, mayDelete, NOT_OWNED, ownerOf } from './ownership.js';
import { notify, type ImagePass } from './pass.js';

/*
 * A changed source under an image that has data: the image keeps being served (status.imageID) while a
 * replacement is uploaded (status.pendingImageID); the replacement takes its place only once active, and the
 * replaced one is deleted only after the status names its successor.
 */

/** The served image went away during a replacement: the replacement is the image from now on. */
export async function promoteOrphanedReplacement(pass: ImagePass): Promise<GlanceImage | undefined> {
  const { status } = pass;
  if (!status.pendingImageID) return undefined;
  status.imageID = status.pendingImageID;
  status.pendingImageID = undefined;
  status.contentHash = undefined;
  return findImage(pass.glance, status.imageID);
}

/**
 * The image whose data this pass works on: the served one, or, when the source changed under it, its
 * replacement (created if needed). A source changed back deletes the unfinished replacement.
 */
export async function imageToConverge(pass: ImagePass, served: GlanceImage): Promise<GlanceImage> {
  const { status, deps } = pass;
  const uid = pass.obj.metadata.uid;
  const replacing =
    !!status.contentHash && status.contentHash !== pass.contentHash && served.status !== 'queued';
  if (!replacing) {
    if (status.pendingImageID) {
      // The source went back to what is served: the unfinished replacement was never used, whatever the
      // deletionPolicy; still, only an image marked as this Image's is deleted.
      deps.transfers.cancel(uid);
      await deleteImage(pass.glance, status.pendingImageID, (i) => isMarked(i, uid, pass.glance.projectId));
      status.pendingImageID = undefined;
    }
    return served;
  }
  let next = status.pendingImageID ? await findImage(pass.glance, status.pendingImageID) : undefined;
  if (!next) {
    if (!status.pendingImageID) {
      await notify(
        pass,
        'Normal',
        'SourceChanged',
        `The source changed; uploading a replacement for image ${served.id}`,
      );
    }
    deps.transfers.cancel(uid);
    next = await createImage(pass, 'pendingImageID');
    pass.log.info({ imageID: next.id, replaces: served.id }, 'created the replacement Glance image');
  }
  return repairDrift(pass, next, false);
}

/** An active replacement becomes the served image; the replaced one is retired unless deletionPolicy keeps it. */
export async function promoteReplacement(pass: ImagePass, image: GlanceImage): Promise<void> {
  const { status } = pass;
  if (status.pendingImageID !== image.id) return;
  const replaced = status.imageID;
  status.imageID = image.id;
  status.pendingImageID = undefined;
  if (!replaced) return;
  const keep = deletionPolicyOf(pass.spec) === 'Orphan';
  if (!keep) status.retiredImageID = replaced;
  await notify(
    pass,
    'Normal',
    'Replaced',
    `Image ${image.id} replaces ${replaced}${keep ? ', which stays in Glance (deletionPolicy Orphan)' : ''}`,
  );
}

/**
 * Deletes the replaced image (under deletionPolicy Delete, if ownership.ts allows). Called only once the status
 * names its replacement: until then the replaced image is the one users get. Returns whether the status changed.
 */
export async function retireReplaced(pass: ImagePass, image: GlanceImage): Promise<boolean> {
  const { status } = pass;
  const retired = status.retiredImageID;
  if (!retired) return false;
  const owner = ownerOf(pass.obj, pass.spec, pass.glance);
  const done = await deleteImage(pass.glance, retired, (i) => mayDelete(i, owner));
  if (done === 'deleted') {
    await notify(pass, 'Normal', 'Retired', `Deleted image ${retired}, replaced by ${image.id}`);
  } else if (done === 'kept' && deletionPolicyOf(pass.spec) === 'Delete') {
    await notify(pass, 'Normal', 'NotOwned', `Left image ${retired} in Glance: ${NOT_OWNED}`);
  }
  status.retiredImageID = undefined;
  return true;
}
