import type { RequestHandler, Response } from 'express';
import pino, { type Logger } from 'pino';
import { ConfigError } from '../config/errors.js';
import type { GlanceConfig } from '../config/load.js';
import { HttpError } from './errors.js';
import { requestLocals } from './locals.js';
import type { RequestContext } from '../domain/request-context.js';
import {
  KeystoneClient,
  KeystoneUnavailableError,
  type Fetch,
  type ServiceCredentials,
} from '../auth/keystone-client.js';
import { createPolicy, type Policy } from '../auth/policy.js';
import { TokenValidator } from '../auth/token-validator.js';

export interface AuthDeps {
  /** Decides RequestContext.isAdmin (context_is_admin); by default the configuration's policy. */
  policy?: Policy;
  /** The fetch used to reach Keystone (tests wrap it to count round trips). */
  fetch?: Fetch;
  /** How many validated tokens to remember. */
  cacheSize?: number;
  now?: () => number;
}

// Keystone requests get http_connect_timeout when set; otherwise a hung Keystone must still not hold a request
// (and the worker's memory for it) forever.
const DEFAULT_KEYSTONE_TIMEOUT_MS = 30_000;
const DEFAULT_CACHE_SIZE = 10_000;

function setContext(res: Response, context: RequestContext): void {
  Object.assign(res.locals, { context });
}

function serviceCredentials(cfg: GlanceConfig): ServiceCredentials {
  const ks = cfg.keystone_authtoken;
  // loadConfig has already refused a keystone flavor without these.
  if (ks.auth_url === null || ks.password === null) {
    throw new ConfigError([`${cfg.source}:keystone_authtoken: auth_url and password are required`]);
  }
  return {
    authUrl: ks.auth_url,
    username: ks.username,
    userId: ks.user_id,
    userDomainName: ks.user_domain_name,
    userDomainId: ks.user_domain_id,
    password: ks.password,
    projectName: ks.project_name,
    projectId: ks.project_id,
    projectDomainName: ks.project_domain_name,
    projectDomainId: ks.project_domain_id,
  };
}

/**
 * The noauth flavor, upstream's UnauthenticatedContextMiddleware: every request is an anonymous admin with no
 * user, project or roles, whatever it sends (X-Auth-Token, X-Tenant-Id, X-Roles and X-User-Id are all ignored).
 * For local development only.
 */
function unauthenticated(): RequestHandler {
  return (_req, res, next) => {
    setContext(res, {
      requestId: requestLocals(res).requestId,
      userId: null,
      projectId: null,
      domainId: null,
      roles: [],
      systemScope: false,
      isAdmin: true,
      authToken: null,
    });
    next();
  };
}

/**
 * Sets `res.locals.context` for each request. With a keystone flavor this is keystonemiddleware's auth_token
 * (in glance's delay_auth_decision mode) plus glance's context middleware: X-Auth-Token is validated with
 * Keystone, and a missing, invalid or unverifiable token gets 401 with a WWW-Authenticate challenge.
 */
export function createAuthMiddleware(
  cfg: GlanceConfig,
  logger: Logger = pino(),
  deps: AuthDeps = {},
): RequestHandler {
  if (!cfg.paste_deploy.flavor?.startsWith('keystone')) {
    logger.warn(
      { flavor: cfg.paste_deploy.flavor },
      'no authentication: [paste_deploy] flavor is not keystone, so every request is an admin (local development only)',
    );
    return unauthenticated();
  }
  const policy = deps.policy ?? createPolicy(cfg);
  const now = deps.now ?? Date.now;
  const keystone = new KeystoneClient(serviceCredentials(cfg), {
    fetch: deps.fetch ?? globalThis.fetch,
    timeoutMs: (cfg.keystone_authtoken.http_connect_timeout ?? 0) * 1000 || DEFAULT_KEYSTONE_TIMEOUT_MS,
    now,
  });
  const validator = new TokenValidator(keystone, {
    cacheTimeSeconds: cfg.keystone_authtoken.token_cache_time,
    maxEntries: deps.cacheSize ?? DEFAULT_CACHE_SIZE,
    now,
  });
  const challenge = {
    'WWW-Authenticate': `Keystone uri="${cfg.keystone_authtoken.www_authenticate_uri ?? ''}"`,
  };

  return async (req, res, next) => {
    const { requestId, log } = requestLocals(res);
    // keystonemiddleware strips surrounding whitespace and still honours Swift's old header name.
    const token = (req.get('x-auth-token') ?? req.get('x-storage-token'))?.trim();
    if (!token) throw new HttpError(401, undefined, challenge);
    let identity;
    try {
      identity = await validator.identify(token);
    } catch (err) {
      if (!(err instanceof KeystoneUnavailableError)) throw err;
      log.error({ reason: err.message }, 'cannot validate the token: Keystone is unavailable');
      throw new HttpError(401, undefined, challenge);
    }
    if (!identity) {
      log.info('invalid or expired token');
      throw new HttpError(401, undefined, challenge);
    }
    const context: Omit<RequestContext, 'isAdmin'> = {
      requestId,
      userId: identity.userId,
      userDomainId: identity.userDomainId,
      projectId: identity.projectId,
      projectDomainId: identity.projectDomainId,
      isAdminProject: identity.isAdminProject,
      domainId: identity.domainId,
      roles: identity.roles,
      systemScope: identity.systemScope,
      authToken: token,
    };
    setContext(res, { ...context, isAdmin: policy.isAdmin(context) });
    next();
  };
}
