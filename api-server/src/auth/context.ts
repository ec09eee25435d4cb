import type { RequestContext } from '../domain/request-context.js';
import type { Creds } from './check-string.js';

/**
 * oslo.context's to_policy_values(): the credentials policy rules read. The service_* values come from a service
 * token (X-Service-Token), which this server does not validate: they are always empty, as upstream's are for a
 * request that carries none.
 */
export function policyCreds(ctx: Omit<RequestContext, 'isAdmin'>): Creds {
  return {
    user_id: ctx.userId,
    user_domain_id: ctx.userDomainId ?? null,
    system_scope: ctx.systemScope ? 'all' : null,
    domain_id: ctx.domainId,
    project_id: ctx.projectId,
    project_domain_id: ctx.projectDomainId ?? null,
    roles: ctx.roles,
    is_admin_project: ctx.isAdminProject ?? true,
    service_user_id: null,
    service_user_domain_id: null,
    service_project_id: null,
    service_project_domain_id: null,
    service_roles: [],
  };
}
