import type { Router } from 'express';
import type { ImageCache } from '../cache/image-cache.js';
import type { ImageRepository } from '../db/image-repo.js';
import { deactivatedStatus, reactivatedStatus } from '../domain/status.js';
import type { ImageRecord, ImageStatus } from '../domain/types.js';
import { Conflict } from '../domain/errors.js';
import { requestContext } from '../http/locals.js';
import { sendNoContent } from '../http/respond.js';
import { param, route, type MethodSpec } from '../http/routing.js';
import type { ImageAccess } from '../services/image-access.js';

/** POST /v2/images/{id}/actions/deactivate and …/reactivate (upstream's image_actions.py). */
export function mountImageActions(
  router: Router,
  access: ImageAccess,
  images: ImageRepository,
  cache: ImageCache | null = null,
): void {
  const action = (
    policyAction: 'deactivate' | 'reactivate',
    from: ImageStatus,
    next: (image: Pick<ImageRecord, 'status'>) => ImageStatus | null,
  ): MethodSpec => ({
    bodyReject: true,
    handler: async (req, res) => {
      const ctx = requestContext(res);
      const found = await access.find(ctx, param(req, 'imageId'));
      access.enforceMutation(ctx, policyAction, found);
      const status = next(found.image);
      // Compare-and-set: when the status changed meanwhile, this request reports the conflict.
      if (status !== null && !(await images.transition(found.image.id, from, status))) {
        throw new Conflict(`Image status transition from ${from} to ${status} is not allowed`);
      }
      // A deactivated image's data must not be served, so its cached copy goes.
      if (status === 'deactivated') await cache?.forget(found.image.id);
      sendNoContent(res);
    },
  });
  route(router, '/v2/images/:imageId/actions/deactivate', 'POST', {
    POST: action('deactivate', 'active', deactivatedStatus),
  });
  route(router, '/v2/images/:imageId/actions/reactivate', 'POST', {
    POST: action('reactivate', 'deactivated', reactivatedStatus),
  });
}
