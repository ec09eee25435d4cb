import type { Request, Response, Router } from 'express';
import { requestContext, requestLocals } from '../http/locals.js';
import { sendAccepted, sendJson, sendNoContent } from '../http/respond.js';
import { param, route } from '../http/routing.js';
import type { CacheManagement } from '../services/cache-management.js';

/**
 * The cache management API of upstream's cached_images.py: GET/DELETE /v2/cache and PUT/DELETE
 * /v2/cache/{image_id}. Served whatever the flavor (the service answers 404 at a site without a cache).
 */
export function mountCacheApi(router: Router, cache: CacheManagement): void {
  const state = async (_req: Request, res: Response): Promise<void> => {
    const { cached, queued } = await cache.state(requestContext(res));
    sendJson(res, 200, { cached_images: cached, queued_images: queued });
  };

  const clear = async (req: Request, res: Response): Promise<void> => {
    const header = req.headers['x-image-cache-clear-target'];
    const target = (Array.isArray(header) ? header.join(',') : (header ?? '')).toLowerCase();
    await cache.clear(requestContext(res), target, requestLocals(res).log);
    sendNoContent(res);
  };

  const queue = async (req: Request, res: Response): Promise<void> => {
    await cache.queue(requestContext(res), param(req, 'imageId'));
    sendAccepted(res);
  };

  const remove = async (req: Request, res: Response): Promise<void> => {
    await cache.remove(requestContext(res), param(req, 'imageId'));
    sendNoContent(res);
  };

  route(router, '/v2/cache', 'GET, DELETE', {
    GET: { bodyReject: true, handler: state },
    DELETE: { handler: clear },
  });
  route(router, '/v2/cache/:imageId', 'DELETE, PUT', {
    DELETE: { handler: remove },
    PUT: { handler: queue },
  });
}
