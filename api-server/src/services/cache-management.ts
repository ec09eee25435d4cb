import type { Logger } from 'pino';
import type { RequestContext } from '../domain/request-context.js';
import type { Policy, PolicyAction, PolicyTarget } from '../auth/policy.js';
import type { CachedImage } from '../cache/lru.js';
import type { ImageCache } from '../cache/image-cache.js';
import { Forbidden, Invalid, NotFound } from '../domain/errors.js';
import type { ImageAccess, VisibleImage } from './image-access.js';

const CLEAR_TARGETS = ['', 'cache', 'queue'] as const;
type ClearTarget = (typeof CLEAR_TARGETS)[number];

const notFound = (id: string): string => `Image ${id} not found.`;

export interface CacheManagementDeps {
  access: ImageAccess;
  policy: Policy;
  /** The image cache ([DEFAULT] image_cache_dir); null without one. */
  cache: ImageCache | null;
}

/** What the cache holds and what is queued for it, as GET /v2/cache lists them. */
export interface CacheState {
  cached: CachedImage[];
  queued: string[];
}

/**
 * The cache management API of upstream's cached_images.py. Without image_cache_dir every call that passes the
 * policy is a 404, as upstream.
 */
export class CacheManagement {
  constructor(private readonly deps: CacheManagementDeps) {}

  /** GET /v2/cache. */
  async state(ctx: RequestContext): Promise<CacheState> {
    const cache = this.enforce(ctx, 'cache_list');
    return { cached: await cache.dir.cached(), queued: await cache.dir.queued() };
  }

  /**
   * DELETE /v2/cache: `target` is the x-image-cache-clear-target header (lower-cased), checked only once the
   * policy has passed, as upstream does.
   */
  async clear(ctx: RequestContext, target: string, log: Logger): Promise<void> {
    const cache = this.enforce(ctx, 'cache_delete');
    if (!(CLEAR_TARGETS as readonly string[]).includes(target)) {
      throw new Invalid("If provided 'x-image-cache-clear-target' must be 'cache', 'queue' or empty string.");
    }
    const which = target as ClearTarget;
    const cacheDeleted = which === 'queue' ? 0 : await cache.dir.removeAll();
    const queueDeleted = which === 'cache' ? 0 : await cache.dir.dequeueAll();
    log.info({ target: which || 'both', cacheDeleted, queueDeleted }, 'image cache cleared');
  }

  /** PUT /v2/cache/{id}: an active image queued for caching. */
  async queue(ctx: RequestContext, id: string): Promise<void> {
    const found = await this.findImage(ctx, id);
    if (found === null) throw new NotFound(notFound(id));
    const cache = this.enforce(ctx, 'cache_image', this.deps.access.target(found));
    if (found.image.status !== 'active') {
      throw new Invalid('Only images with status active can be targeted for queueing');
    }
    await cache.dir.enqueue(found.image.id);
  }

  /** DELETE /v2/cache/{id}: the image's cached data and its place in the queue. */
  async remove(ctx: RequestContext, id: string): Promise<void> {
    const { access } = this.deps;
    const found = await this.findImage(ctx, id);
    // An image deleted (or never seen by this caller) can still be dropped from the cache and the queue.
    const known =
      found !== null ||
      (this.deps.cache !== null &&
        ((await this.deps.cache.dir.isCached(id)) || (await this.deps.cache.dir.isQueued(id))));
    if (!known) throw new NotFound(notFound(id));
    const cache = this.enforce(ctx, 'cache_delete', found ? access.target(found) : undefined);
    await cache.forget(id);
  }

  /** Upstream's _enforce: a bare 403 on refusal, then the 404 of a site without a cache. */
  private enforce(ctx: RequestContext, action: PolicyAction, target?: PolicyTarget): ImageCache {
    if (!this.deps.policy.check(ctx, action, target)) throw new Forbidden();
    if (this.deps.cache === null) throw new NotFound('Caching via API is not supported at this site.');
    return this.deps.cache;
  }

  private async findImage(ctx: RequestContext, id: string): Promise<VisibleImage | null> {
    try {
      return await this.deps.access.find(ctx, id, notFound);
    } catch (err) {
      if (err instanceof NotFound) return null;
      throw err;
    }
  }
}
