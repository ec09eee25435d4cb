import { z } from 'zod';

/** The [keystone_authtoken] password credentials glance validates tokens with. */
export interface ServiceCredentials {
  authUrl: string;
  username: string | null;
  userId: string | null;
  userDomainName: string | null;
  userDomainId: string | null;
  password: string;
  projectName: string | null;
  projectId: string | null;
  projectDomainName: string | null;
  projectDomainId: string | null;
}

/** What a validated token says about its bearer. */
export interface TokenIdentity {
  userId: string;
  userDomainId: string | null;
  projectId: string | null;
  projectDomainId: string | null;
  /** Keystone's admin_project marks one project as the admin project; without it every project is (true). */
  isAdminProject: boolean;
  domainId: string | null;
  roles: string[];
  systemScope: boolean;
  /** Epoch milliseconds. */
  expiresAt: number;
}

/** Keystone could not give an answer (unreachable, an error status, or it refused our own credentials). */
export class KeystoneUnavailableError extends Error {
  override name = 'KeystoneUnavailableError';
}

export type Fetch = typeof globalThis.fetch;

// Only the parts of Keystone's token document we use; validated because it comes from the network.
const tokenDocument = z.object({
  token: z.object({
    expires_at: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'not a timestamp'),
    user: z.object({ id: z.string(), domain: z.object({ id: z.string() }).optional() }),
    project: z.object({ id: z.string(), domain: z.object({ id: z.string() }).optional() }).optional(),
    is_admin_project: z.boolean().optional(),
    domain: z.object({ id: z.string() }).optional(),
    system: z.object({ all: z.boolean().optional() }).optional(),
    roles: z.array(z.object({ name: z.string() })).default([]),
  }),
});

// keystoneauth re-authenticates when the token has less than this left, so a request never carries one
// that expires on the way (BaseIdentityPlugin.MIN_TOKEN_LIFE_SECONDS).
const MIN_SERVICE_TOKEN_LIFE_MS = 120_000;

/** The identity endpoint's v3 root, whether auth_url names the bare service, /v3, or the old /v2.0. */
/**
 * keystoneauth's password plugin as a POST /v3/auth/tokens body: the user by id or by name in a domain, and a
 * project scope (by id or by name in a domain) or, with `systemScope`, the system scope.
 */
export function passwordAuthBody(c: ServiceCredentials, systemScope = false): string {
  const domain = (id: string | null, name: string | null) => (id !== null ? { id } : { name });
  const user =
    c.userId !== null
      ? { id: c.userId, password: c.password }
      : { name: c.username, domain: domain(c.userDomainId, c.userDomainName), password: c.password };
  const scope = systemScope
    ? { system: { all: true } }
    : {
        project:
          c.projectId !== null
            ? { id: c.projectId }
            : { name: c.projectName, domain: domain(c.projectDomainId, c.projectDomainName) },
      };
  return JSON.stringify({ auth: { identity: { methods: ['password'], password: { user } }, scope } });
}

export function identityV3Root(authUrl: string): string {
  const base = authUrl.replace(/\/+$/, '');
  if (/\/v3$/.test(base)) return base;
  return `${base.replace(/\/v2\.0$/, '')}/v3`;
}

// uWSGI closes idle keep-alive connections without saying so; the next request on that socket dies at once.
function isStaleConnection(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET') return true;
    if (/socket hang up|other side closed/i.test(e.message)) return true;
  }
  return false;
}

function describe(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err instanceof Error ? err.message : String(err)}${cause}`;
}

/**
 * Talks to Keystone v3 for keystonemiddleware's auth_token: holds a project-scoped service token (renewed before
 * it expires, and once more if Keystone rejects it) and validates user tokens with it.
 */
export class KeystoneClient {
  private readonly root: string;
  private serviceToken: { token: string; expiresAt: number } | null = null;
  private pendingServiceToken: Promise<string> | null = null;

  constructor(
    private readonly credentials: ServiceCredentials,
    private readonly options: { fetch: Fetch; timeoutMs: number; now: () => number },
  ) {
    this.root = identityV3Root(credentials.authUrl);
  }

  /** The bearer's identity, or null when Keystone says the token is not valid (unknown, revoked or expired). */
  async validate(userToken: string): Promise<TokenIdentity | null> {
    let response = await this.validateWith(await this.getServiceToken(false), userToken);
    if (response.status === 401) {
      response = await this.validateWith(await this.getServiceToken(true), userToken);
    }
    if (response.status === 404) return null;
    if (response.status !== 200) {
      throw new KeystoneUnavailableError(`token validation answered HTTP ${response.status}`);
    }
    const parsed = tokenDocument.safeParse(await response.json());
    if (!parsed.success)
      throw new KeystoneUnavailableError('token validation returned an unexpected document');
    const { token } = parsed.data;
    const expiresAt = Date.parse(token.expires_at);
    if (expiresAt <= this.options.now()) return null;
    return {
      userId: token.user.id,
      userDomainId: token.user.domain?.id ?? null,
      projectId: token.project?.id ?? null,
      projectDomainId: token.project?.domain?.id ?? null,
      isAdminProject: token.is_admin_project ?? true,
      domainId: token.domain?.id ?? null,
      roles: token.roles.map((r) => r.name.toLowerCase()),
      systemScope: token.system?.all === true,
      expiresAt,
    };
  }

  private async validateWith(serviceToken: string, userToken: string): Promise<Response> {
    const response = await this.request(`${this.root}/auth/tokens?nocatalog`, {
      method: 'GET',
      headers: { 'X-Auth-Token': serviceToken, 'X-Subject-Token': userToken, Accept: 'application/json' },
    });
    if (response.status !== 200) await response.body?.cancel();
    return response;
  }

  /** One authentication at a time: concurrent requests share it instead of each asking Keystone. */
  private getServiceToken(force: boolean): Promise<string> {
    const cached = this.serviceToken;
    if (!force && cached && cached.expiresAt - this.options.now() > MIN_SERVICE_TOKEN_LIFE_MS) {
      return Promise.resolve(cached.token);
    }
    if (force) this.serviceToken = null;
    this.pendingServiceToken ??= this.authenticate().finally(() => {
      this.pendingServiceToken = null;
    });
    return this.pendingServiceToken;
  }

  private async authenticate(): Promise<string> {
    const response = await this.request(`${this.root}/auth/tokens?nocatalog`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: passwordAuthBody(this.credentials),
    });
    const token = response.headers.get('x-subject-token');
    if (response.status !== 201 || !token) {
      await response.body?.cancel();
      throw new KeystoneUnavailableError(
        `Keystone refused the service credentials (HTTP ${response.status})`,
      );
    }
    const parsed = tokenDocument.safeParse(await response.json());
    if (!parsed.success)
      throw new KeystoneUnavailableError('service authentication returned an unexpected document');
    this.serviceToken = { token, expiresAt: Date.parse(parsed.data.token.expires_at) };
    return token;
  }

  private async request(url: string, init: RequestInit): Promise<Response> {
    const attempt = (): Promise<Response> =>
      this.options.fetch(url, { ...init, signal: AbortSignal.timeout(this.options.timeoutMs) });
    try {
      try {
        return await attempt();
      } catch (err) {
        if (!isStaleConnection(err)) throw err;
        return await attempt();
      }
    } catch (err) {
      throw new KeystoneUnavailableError(`cannot reach Keystone at ${this.root}: ${describe(err)}`, {
        cause: err,
      });
    }
  }
}
