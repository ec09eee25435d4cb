import type { Pool } from 'mysql2/promise';
import type { GlanceConfig } from '../config/index.js';
import { LimitExceeded } from '../domain/errors.js';
import { KeystoneLimits } from './limits-client.js';
import { QUOTA_RESOURCES, QuotaUsage, type QuotaResource } from './usage.js';

export type { QuotaResource } from './usage.js';

/** A resource's use and limit, as /v2/info/usage reports them. */
export interface ResourceUsage {
  usage: number;
  limit: number;
}

/** glance/quota/keystone.py: per-project limits from Keystone, usage from the database. */
export interface Quotas {
  /**
   * Throws LimitExceeded when the project's usage of the resource plus `delta` would exceed its limit
   * (upstream's enforce_image_*). Does nothing without [DEFAULT] use_keystone_limits.
   */
  enforce(projectId: string | null, resource: QuotaResource, delta?: number): Promise<void>;
  /** Every resource's usage and limit; empty without use_keystone_limits (upstream's get_usage). */
  usage(projectId: string | null): Promise<Partial<Record<QuotaResource, ResourceUsage>>>;
}

/** oslo.limit's ProjectOverLimit inside glance's LimitExceeded, which is what upstream's 413 says. */
export function overLimit(
  projectId: string | null,
  resource: QuotaResource,
  limit: number,
  usage: number,
  delta: number,
): LimitExceeded {
  return new LimitExceeded(
    'The request returned a 413 Request Entity Too Large. This generally means that rate limiting or a quota ' +
      'threshold was breached.\n\nThe response body:\n' +
      `Project ${projectId ?? 'None'} is over a limit for [Resource ${resource} is over limit of ${limit} due to ` +
      `current usage ${usage} and delta ${delta}]`,
  );
}

export const NO_QUOTAS: Quotas = {
  enforce: () => Promise.resolve(),
  usage: () => Promise.resolve({}),
};

const DEFAULT_TIMEOUT_MS = 30_000;

/** The quotas this configuration asks for; NO_QUOTAS unless [DEFAULT] use_keystone_limits. */
export function createQuotas(
  cfg: Pick<GlanceConfig, 'DEFAULT' | 'oslo_limit'>,
  pool: Pool,
  fetchImpl: typeof globalThis.fetch = globalThis.fetch,
): Quotas {
  if (!cfg.DEFAULT.use_keystone_limits) return NO_QUOTAS;
  const ol = cfg.oslo_limit;
  // loadConfig has refused use_keystone_limits without these.
  if (ol.endpoint_id === null || ol.auth_url === null || ol.password === null) {
    throw new Error('[oslo_limit] endpoint_id, auth_url and password are required');
  }
  const keystone = new KeystoneLimits(
    {
      authUrl: ol.auth_url,
      username: ol.username,
      userId: ol.user_id,
      userDomainName: ol.user_domain_name,
      userDomainId: ol.user_domain_id,
      password: ol.password,
      projectName: ol.project_name,
      projectId: ol.project_id,
      projectDomainName: ol.project_domain_name,
      projectDomainId: ol.project_domain_id,
      systemScope: ol.system_scope === 'all',
    },
    ol.endpoint_id,
    { fetch: fetchImpl, timeoutMs: (ol.timeout ?? 0) * 1000 || DEFAULT_TIMEOUT_MS, now: Date.now },
  );
  const counter = new QuotaUsage(pool);
  return {
    async enforce(projectId, resource, delta = 0) {
      const limit = (await keystone.limits(projectId, [resource])).get(resource) ?? 0;
      const usage = await counter.of(projectId, resource);
      if (usage + delta > limit) throw overLimit(projectId, resource, limit, usage, delta);
    },
    async usage(projectId) {
      const limits = await keystone.limits(projectId, QUOTA_RESOURCES);
      const out: Partial<Record<QuotaResource, ResourceUsage>> = {};
      for (const resource of QUOTA_RESOURCES) {
        out[resource] = { usage: await counter.of(projectId, resource), limit: limits.get(resource) ?? 0 };
      }
      return out;
    },
  };
}
