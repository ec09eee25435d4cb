import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import type { JsonObject } from '../domain/json-schema.js';
import { DEFAULT_DOMAIN_CONFIG, type DomainConfig } from '../domain/types.js';
import { ConfigError } from './errors.js';
import type { GlanceConfig } from './load.js';

// upstream's load_custom_properties: the first schema-image.json oslo.config's find_file sees (beside the
// configuration file, then ~/.glance, ~, /etc/glance, /etc) adds its properties to the image schema.
function customImageProperties(cfg: GlanceConfig): Record<string, JsonObject> {
  const dirs = [path.dirname(cfg.source), path.join(homedir(), '.glance'), homedir(), '/etc/glance', '/etc'];
  const file = dirs.map((dir) => path.join(dir, 'schema-image.json')).find((f) => existsSync(f));
  if (file === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError([`${file}: not valid JSON (${(err as Error).message})`]);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError([`${file}: must map property names to JSON schemas`]);
  }
  return parsed as Record<string, JsonObject>;
}

/** The options the domain rules read, from glance-api.conf and schema-image.json. */
export function domainConfig(cfg: GlanceConfig): DomainConfig {
  const d = cfg.DEFAULT;
  return {
    ...DEFAULT_DOMAIN_CONFIG,
    allowAdditionalImageProperties: d.allow_additional_image_properties,
    customImageProperties: customImageProperties(cfg),
    showMultipleLocations: d.show_multiple_locations,
    showImageDirectUrl: d.show_image_direct_url,
    enabledBackends: (d.enabled_backends ?? []).map((b) => b.name),
    limitParamDefault: d.limit_param_default,
    apiLimitMax: d.api_limit_max,
    imagePropertyQuota: d.image_property_quota,
    imageTagQuota: d.image_tag_quota,
    imageLocationQuota: d.image_location_quota,
    hashingAlgorithm: d.hashing_algorithm,
    enforceSecureRbac: d.enforce_secure_rbac,
  };
}
