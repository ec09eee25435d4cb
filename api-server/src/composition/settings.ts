import type { Logger } from 'pino';
import { createPolicy, type Policy } from '../auth/policy.js';
import { cacheSettings, type CacheSettings } from '../cache/settings.js';
import { ConfigError, type GlanceConfig } from '../config/index.js';
import { domainConfig } from '../config/domain-config.js';
import { imageSchemaSpec } from '../domain/schemas.js';
import type { DomainConfig } from '../domain/types.js';
import { notifySettings, type NotifySettings } from '../notify/index.js';
import { resolveStoreLayout, type StoreLayout } from '../store/store-config.js';

/** Everything derived from the configuration that can be wrong: resolved before any process serves. */
export interface Settings {
  cfg: GlanceConfig;
  domain: DomainConfig;
  policy: Policy;
  stores: StoreLayout;
  cache: CacheSettings | null;
  notify: NotifySettings;
}

/**
 * Throws ConfigError for whatever the configuration gets wrong. `log` hears of a policy file changed later into one
 * that does not parse (the rules in force stay).
 */
export function resolveSettings(cfg: GlanceConfig, log?: Logger): Settings {
  const domain = domainConfig(cfg);
  try {
    imageSchemaSpec(domain);
  } catch (err) {
    throw new ConfigError([`schema-image.json: ${(err as Error).message}`]);
  }
  return {
    cfg,
    domain,
    policy: createPolicy(cfg, (err) =>
      log?.error(
        { reason: err.message },
        'a policy file changed and cannot be read: the rules in force stay',
      ),
    ),
    stores: resolveStoreLayout(cfg),
    cache: cacheSettings(cfg),
    notify: notifySettings(cfg.document),
  };
}
