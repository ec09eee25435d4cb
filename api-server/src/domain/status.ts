import { Forbidden, Invalid } from './errors.js';
import type { ImageRecord, ImageStatus } from './types.js';

// Image lifecycle rules of upstream's domain model (glance/domain/__init__.py Image).

/** For each current status, the statuses an image may move to. */
export const VALID_STATE_TARGETS: Readonly<Record<ImageStatus, readonly ImageStatus[]>> = {
  // Upstream lets a failed upload go back from saving to queued so that it can be retried.
  queued: ['saving', 'uploading', 'importing', 'active', 'deleted'],
  saving: ['active', 'killed', 'deleted', 'queued'],
  uploading: ['importing', 'queued', 'deleted'],
  importing: ['active', 'deleted', 'queued'],
  active: ['pending_delete', 'deleted', 'deactivated'],
  killed: ['deleted'],
  pending_delete: ['deleted', 'active'],
  deleted: [],
  deactivated: ['active', 'deleted'],
};

export type StatusTransition =
  | { ok: true; /** Moving to queued resets size and virtual_size to null. */ clearsSize: boolean }
  | { ok: false; reason: 'invalid_transition' | 'missing_formats'; message: string };

type Lifecycle = Pick<ImageRecord, 'status' | 'disk_format' | 'container_format'>;

/**
 * Whether `image` may move to `next`. Routes map the failure the way the upstream controller at hand does
 * (an invalid transition is usually 400 or 409; missing formats is upstream's ValueError, usually 400).
 */
export function checkStatusTransition(image: Lifecycle, next: ImageStatus): StatusTransition {
  if (!VALID_STATE_TARGETS[image.status].includes(next)) {
    return {
      ok: false,
      reason: 'invalid_transition',
      message: `Image status transition from ${image.status} to ${next} is not allowed`,
    };
  }
  if (
    (image.status === 'queued' || image.status === 'uploading') &&
    (next === 'saving' || next === 'active' || next === 'importing')
  ) {
    const missing = (['disk_format', 'container_format'] as const).filter((k) => !image[k]);
    if (missing.length === 1) {
      return {
        ok: false,
        reason: 'missing_formats',
        message: `Property ${missing[0]} must be set prior to saving data.`,
      };
    }
    if (missing.length > 1) {
      return {
        ok: false,
        reason: 'missing_formats',
        message: `Properties ${missing.join(', ')} must be set prior to saving data.`,
      };
    }
  }
  return { ok: true, clearsSize: next === 'queued' };
}

/**
 * POST /actions/deactivate: the status to store, or null when the image is already deactivated (a no-op).
 * Any other status is upstream's 403.
 */
export function deactivatedStatus(image: Pick<ImageRecord, 'status'>): 'deactivated' | null {
  if (image.status === 'active') return 'deactivated';
  if (image.status === 'deactivated') return null;
  throw new Forbidden(`Not allowed to deactivate image in status '${image.status}'`);
}

/** POST /actions/reactivate: the status to store, or null when the image is already active. */
export function reactivatedStatus(image: Pick<ImageRecord, 'status'>): 'active' | null {
  if (image.status === 'deactivated') return 'active';
  if (image.status === 'active') return null;
  throw new Forbidden(`Not allowed to reactivate image in status '${image.status}'`);
}

/**
 * DELETE /v2/images/{id}: the status a deleted image takes. Protected images are refused with upstream's 403;
 * with `delayed_delete` an image that has data waits in pending_delete for the scrubber.
 */
export function deletedStatus(
  image: Lifecycle & Pick<ImageRecord, 'id' | 'protected' | 'locations'>,
  delayedDelete: boolean,
): 'deleted' | 'pending_delete' {
  if (image.protected) throw new Forbidden(`Image ${image.id} is protected and cannot be deleted.`);
  const next = delayedDelete && image.locations.length > 0 ? 'pending_delete' : 'deleted';
  const transition = checkStatusTransition(image, next);
  if (!transition.ok) throw new Invalid(transition.message);
  return next;
}
