import type { RequestContext } from '../domain/request-context.js';
import { NO_QUOTAS, type QuotaResource, type Quotas, type ResourceUsage } from '../quota/quotas.js';

/** GET /v2/info/usage: Keystone unified limits for the caller's project; none without use_keystone_limits. */
export class Usage {
  constructor(private readonly quotas: Quotas = NO_QUOTAS) {}

  of(ctx: RequestContext): Promise<Partial<Record<QuotaResource, ResourceUsage>>> {
    return this.quotas.usage(ctx.projectId);
  }
}
