import type { Request, Response, Router } from 'express';
import type { RequestContext } from '../domain/request-context.js';
import type { Policy, PolicyAction, PolicyTarget } from '../auth/policy.js';
import type { ImageCache } from '../cache/image-cache.js';
import { Forbidden, Invalid, NotFound } from '../domain/errors.js';
import { requestContext, requestLocals } from '../http/locals.js';
import { sendAccepted, sendJson, sendNoContent } from '../http/respond.js';
import { param, route } from '../http/routing.js';
import type { ImageAccess, VisibleImage } from '../services/image-access.js';

const CLEAR_TARGETS = ['', 'cache', 'queue'] as const;
type ClearTarget = (typeof CLEAR_TARGETS)[number];

const notFound = (id: string): string => `Image ${id} not found.`;

/**
 * The cache management API of upstream's cached_images.py: GET/DELETE /v2/cache and PUT/DELETE
 * /v2/cache/{image_id}. Served whatever the flavor; without image_cache_dir every call that passes the policy is a
 * 404, as upstream.
 */
export function mountCacheApi(
  router: Router,
  deps: { access: ImageAccess; policy: Policy; cache: ImageCache | null },
): void {
  const { access, policy } = deps;

  /** Upstream's _enforce: a bare 403 on refusal, then the 404 of a site without a cache. */
  const enforce = (ctx: RequestContext, action: PolicyAction, target?: PolicyTarget): ImageCache => {
    if (!policy.check(ctx, action, target)) throw new Forbidden();
    if (deps.cache === null) throw new NotFound('Caching via API is not supported at this site.');
    return deps.cache;
  };

  const findImage = async (ctx: RequestContext, id: string): Promise<VisibleImage | null> => {
    try {
      return await access.find(ctx, id, notFound);
    } catch (err) {
      if (err instanceof NotFound) return null;
      throw err;
    }
  };

  const state = async (_req: Request, res: Response): Promise<void> => {
    const cache = enforce(requestContext(res), 'cache_list');
    const [cached, queued] = [await cache.dir.cached(), await cache.dir.queued()];
    sendJson(res, 200, { cached_images: cached, queued_images: queued });
  };

  const clear = async (req: Request, res: Response): Promise<void> => {
    const cache = enforce(requestContext(res), 'cache_delete');
    const header = req.headers['x-image-cache-clear-target'];
    const target = (Array.isArray(header) ? header.join(',') : (header ?? '')).toLowerCase();
    if (!(CLEAR_TARGETS as readonly string[]).includes(target)) {
      throw new Invalid("If provided 'x-image-cache-clear-target' must be 'cache', 'queue' or empty string.");
    }
    const which = target as ClearTarget;
    const cacheDeleted = which === 'queue' ? 0 : await cache.dir.removeAll();
    const queueDeleted = which === 'cache' ? 0 : await cache.dir.dequeueAll();
    requestLocals(res).log.info(
      { target: which || 'both', cacheDeleted, queueDeleted },
      'image cache cleared',
    );
    sendNoContent(res);
  };

  const queue = async (req: Request, res: Response): Promise<void> => {
    const ctx = requestContext(res);
    const id = param(req, 'imageId');
    const found = await findImage(ctx, id);
    if (found === null) throw new NotFound(notFound(id));
    const cache = enforce(ctx, 'cache_image', access.target(found));
    if (found.image.status !== 'active') {
      throw new Invalid('Only images with status active can be targeted for queueing');
    }
    await cache.dir.enqueue(found.image.id);
    sendAccepted(res);
  };

  const remove = async (req: Request, res: Response): Promise<void> => {
    const ctx = requestContext(res);
    const id = param(req, 'imageId');
    const found = await findImage(ctx, id);
    // An image deleted (or never seen by this caller) can still be dropped from the cache and the queue.
    const known =
      found !== null ||
      (deps.cache !== null && ((await deps.cache.dir.isCached(id)) || (await deps.cache.dir.isQueued(id))));
    if (!known) throw new NotFound(notFound(id));
    const cache = enforce(ctx, 'cache_delete', found ? access.target(found) : undefined);
    await cache.forget(id);
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
