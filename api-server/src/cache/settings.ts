import path from 'node:path';
import { ConfigError, type GlanceConfig } from '../config/index.js';

/** What the image cache does with this configuration; null from `cacheSettings` when it is off. */
export interface CacheSettings {
  /** [DEFAULT] image_cache_dir: data files named by image id, with incomplete/, invalid/ and queue/ below. */
  dir: string;
  /** image_cache_max_size: the pruner removes least recently used images until the cache fits. */
  maxSize: number;
  /** image_cache_stall_time: an incomplete/ file older than this is abandoned and removed. */
  stallTimeMs: number;
  /** cache_prefetcher_interval: how often queued images are fetched, and how long they stay queued at least. */
  prefetchIntervalMs: number;
  /**
   * Upstream's cache middleware, present only in the `…caching` and `…cachemanagement` paste pipelines: downloads
   * are served from the cache and fill it. Without it the cache is filled by the prefetcher alone.
   */
  servesDownloads: boolean;
}

const CACHING_FLAVORS = new Set([
  'keystone+caching',
  'keystone+cachemanagement',
  'caching',
  'cachemanagement',
]);

/**
 * Upstream turns the cache API (and the v2.14-v2.16 versions) on exactly when image_cache_dir is set. A caching
 * flavor without it is a configuration error: upstream's cache middleware fails to start the same way.
 */
export function cacheSettings(
  cfg: Pick<GlanceConfig, 'DEFAULT' | 'paste_deploy' | 'source'>,
): CacheSettings | null {
  const d = cfg.DEFAULT;
  const servesDownloads = CACHING_FLAVORS.has(cfg.paste_deploy.flavor ?? '');
  if (d.image_cache_dir === null) {
    if (servesDownloads) {
      throw new ConfigError([
        `${cfg.source}:DEFAULT:image_cache_dir: is required with [paste_deploy] flavor ${cfg.paste_deploy.flavor}`,
      ]);
    }
    return null;
  }
  if (!path.isAbsolute(d.image_cache_dir)) {
    throw new ConfigError([`${cfg.source}:DEFAULT:image_cache_dir: must be an absolute path`]);
  }
  return {
    dir: d.image_cache_dir,
    maxSize: d.image_cache_max_size,
    stallTimeMs: d.image_cache_stall_time * 1000,
    prefetchIntervalMs: d.cache_prefetcher_interval * 1000,
    servesDownloads,
  };
}
