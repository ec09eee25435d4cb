import type { RequestContext } from '../domain/request-context.js';
import type { Creds } from './check-string.js';

/** oslo.context's to_policy_values(): the credentials policy rules read. */
export function policyCreds(ctx: Omit<RequestContext, 'isAdmin'>): Creds {
  return {
    user_id: ctx.userId,
    project_id: ctx.projectId,
    domain_id: ctx.domainId,
    system_scope: ctx.systemScope ? 'all' : null,
    roles: ctx.roles,
  };
}
