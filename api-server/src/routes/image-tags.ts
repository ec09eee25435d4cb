import type { Router } from 'express';
import type { ImageRepository } from '../db/image-repo.js';
import { checkNo4ByteTags, validateAgainstImageSchema } from '../domain/image-rules.js';
import { imageValidationSchema } from '../domain/schemas.js';
import type { DomainConfig } from '../domain/types.js';
import { Forbidden, Invalid, LimitExceeded, NotFound } from '../domain/errors.js';
import { requestContext } from '../http/locals.js';
import { sendNoContent } from '../http/respond.js';
import { param, route } from '../http/routing.js';
import { NotImageOwner, type ImageAccess, type VisibleImage } from '../services/image-access.js';
import type { RequestContext } from '../domain/request-context.js';

/** PUT and DELETE /v2/images/{id}/tags/{tag} (upstream's image_tags.py). */
export function mountImageTags(
  router: Router,
  access: ImageAccess,
  images: ImageRepository,
  domain: DomainConfig,
): void {
  const schema = imageValidationSchema(domain);
  const notFound = (id: string): string => `Image ${id} not found.`;

  const authorise = (ctx: RequestContext, found: VisibleImage, verb: 'update' | 'delete'): void => {
    try {
      access.enforceMutation(ctx, 'modify_image', found);
    } catch (err) {
      // The owner check's refusal is reworded by the controller; policy refusals pass through unchanged.
      if (err instanceof NotImageOwner) {
        throw new Forbidden(`Not allowed to ${verb} tags for image ${found.image.id}.`);
      }
      throw err;
    }
  };

  route(router, '/v2/images/:imageId/tags/:tag', 'PUT, DELETE', {
    PUT: {
      bodyReject: true,
      handler: async (req, res) => {
        const tag = param(req, 'tag');
        // Upstream's deserializer validates the tag as the image schema's tags item, before any lookup.
        validateAgainstImageSchema({ tags: [tag] }, schema);
        const ctx = requestContext(res);
        const found = await access.find(ctx, param(req, 'imageId'), notFound);
        authorise(ctx, found, 'update');
        try {
          checkNo4ByteTags([tag]);
        } catch (err) {
          if (err instanceof Invalid) throw new Invalid(`Could not update image: ${err.message}`);
          throw err;
        }
        const outcome = await images.addTag(found.image.id, tag, domain.imageTagQuota);
        if (outcome === 'gone') throw new NotFound(notFound(found.image.id));
        if (typeof outcome === 'object') {
          throw new LimitExceeded(
            `Image tag limit exceeded for image ${found.image.id}: The limit has been exceeded on the number of ` +
              `allowed image tags. Attempted: ${outcome.over}, Maximum: ${domain.imageTagQuota}:`,
          );
        }
        sendNoContent(res);
      },
    },
    DELETE: {
      bodyReject: true,
      handler: async (req, res) => {
        const ctx = requestContext(res);
        const found = await access.find(ctx, param(req, 'imageId'), notFound);
        authorise(ctx, found, 'delete');
        if (!(await images.removeTag(found.image.id, param(req, 'tag')))) throw new NotFound();
        sendNoContent(res);
      },
    },
  });
}
