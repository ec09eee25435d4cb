import type { Router } from 'express';
import { requestContext } from '../http/locals.js';
import { sendNoContent } from '../http/respond.js';
import { param, route } from '../http/routing.js';
import type { ImageTags } from '../services/image-tags.js';

/** PUT and DELETE /v2/images/{id}/tags/{tag} (upstream's image_tags.py). */
export function mountImageTags(router: Router, tags: ImageTags): void {
  route(router, '/v2/images/:imageId/tags/:tag', 'PUT, DELETE', {
    PUT: {
      bodyReject: true,
      handler: async (req, res) => {
        await tags.add(requestContext(res), param(req, 'imageId'), param(req, 'tag'));
        sendNoContent(res);
      },
    },
    DELETE: {
      bodyReject: true,
      handler: async (req, res) => {
        await tags.remove(requestContext(res), param(req, 'imageId'), param(req, 'tag'));
        sendNoContent(res);
      },
    },
  });
}
