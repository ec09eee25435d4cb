import type { EndpointHttp } from '../net/endpoint-http.js';
import type { KeystoneAdmin } from './admin-clients.js';

/** A Keystone v3 admin API call that did not succeed. */
export class KeystoneError extends Error {
  override readonly name = 'KeystoneError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface PasswordCredentials {
  username: string;
  password: string;
  userDomainName: string;
  /** Omitted for an unscoped token. */
  project?: { name: string; domainName: string };
}

export interface Named {
  id: string;
  name: string;
}
/**
 * The extra attribute (Keystone keeps any attribute it does not know with the object) that says which GlanceService
 * created a user, service or endpoint: ownership.ts's mark.
 */
export const OWNER_ATTRIBUTE = 'glance_operator_owner';
export interface Owned {
  [OWNER_ATTRIBUTE]?: string;
}

export interface KeystoneUser extends Named, Owned {
  enabled: boolean;
  domain_id: string;
}
export interface KeystoneService extends Named, Owned {
  type: string;
  enabled: boolean;
  description?: string;
}
export type UserChanges = { password?: string; enabled?: boolean } & Owned;
export type NewService = { name: string; type: string; description: string } & Required<Owned>;

export interface KeystoneRegion {
  id: string;
  description?: string;
}
export interface KeystoneEndpoint extends Owned {
  id: string;
  interface: 'public' | 'internal' | 'admin';
  url: string;
  region_id: string | null;
  service_id: string;
  enabled: boolean;
}

const TIMEOUT_MS = 15_000;

function authBody(c: PasswordCredentials) {
  return {
    auth: {
      identity: {
        methods: ['password'],
        password: { user: { name: c.username, domain: { name: c.userDomainName }, password: c.password } },
      },
      ...(c.project
        ? { scope: { project: { name: c.project.name, domain: { name: c.project.domainName } } } }
        : {}),
    },
  };
}

/**
 * Whether Keystone accepts these credentials: 201 yes, 401 no, anything else an error. A token request
 * changes nothing in Keystone (fernet tokens are not stored), so it is how a password is checked.
 */
export async function checkPassword(
  http: EndpointHttp,
  authUrl: string,
  credentials: PasswordCredentials,
): Promise<boolean> {
  const res = await http.request(`${authUrl}/auth/tokens?nocatalog`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(authBody(credentials)),
    timeoutMs: TIMEOUT_MS,
  });
  if (res.status === 201) return true;
  if (res.status === 401) return false;
  throw new KeystoneError(res.status, `Keystone answered a token request with HTTP ${res.status}`);
}

/**
 * Just the Keystone v3 calls the operator makes, with a project-scoped admin token renewed before it expires,
 * each through `http` (the URL policy: the admin password and token go only to an allowed Keystone).
 * Every call that changes Keystone goes through `onWrite`, for the operator's write metrics.
 */
export class KeystoneClient implements KeystoneAdmin {
  private token: { value: string; expiresAt: number } | undefined;

  constructor(
    readonly authUrl: string,
    private readonly admin: PasswordCredentials,
    private readonly http: EndpointHttp,
    private readonly onWrite: (operation: string) => void,
  ) {}

  /** Gets an admin token; throws KeystoneError(401) when Keystone refuses the credentials. */
  async authenticate(): Promise<void> {
    const res = await this.http.request(`${this.authUrl}/auth/tokens?nocatalog`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(authBody(this.admin)),
      timeoutMs: TIMEOUT_MS,
    });
    let body: { token?: { expires_at?: string } } = {};
    try {
      body = JSON.parse(res.text) as typeof body;
    } catch {
      // Not JSON: the status says what went wrong.
    }
    const value = res.headers['x-subject-token'];
    if (res.status !== 201 || typeof value !== 'string' || !value) {
      throw new KeystoneError(res.status, `Keystone refused the admin credentials (HTTP ${res.status})`);
    }
    this.token = { value, expiresAt: Date.parse(body.token?.expires_at ?? '') || Date.now() + 300_000 };
  }

  checkPassword(credentials: PasswordCredentials): Promise<boolean> {
    return checkPassword(this.http, this.authUrl, credentials);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    if (!this.token || this.token.expiresAt - Date.now() < 60_000) await this.authenticate();
    if (method !== 'GET' && method !== 'HEAD') this.onWrite(`${method} ${path.split('?')[0]?.split('/')[1]}`);
    const res = await this.http.request(`${this.authUrl}${path}`, {
      method,
      headers: {
        'X-Auth-Token': this.token?.value ?? '',
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      timeoutMs: TIMEOUT_MS,
    });
    const text = method === 'HEAD' ? '' : res.text;
    if (res.status >= 400 && res.status !== 404) {
      let message = text.slice(0, 300);
      try {
        message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
      } catch {
        // Not JSON: keep the text.
      }
      throw new KeystoneError(
        res.status,
        `Keystone ${method} ${path.split('?')[0]}: HTTP ${res.status} ${message}`,
      );
    }
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
  }

  private async list<T>(path: string, key: string): Promise<T[]> {
    const res = await this.call<Record<string, T[]>>('GET', path);
    return res.body[key] ?? [];
  }

  private async one<T>(path: string, key: string): Promise<T | undefined> {
    const res = await this.call<Record<string, T>>('GET', path);
    return res.status === 404 ? undefined : res.body[key];
  }

  private async create<T>(path: string, key: string, value: object): Promise<T> {
    const res = await this.call<Record<string, T>>('POST', path, { [key]: value });
    const created = res.body[key];
    if (!created) throw new KeystoneError(res.status, `Keystone POST ${path} returned no ${key}`);
    return created;
  }

  private async update<T>(path: string, key: string, value: object): Promise<T> {
    const res = await this.call<Record<string, T>>('PATCH', path, { [key]: value });
    if (res.status === 404) throw new KeystoneError(404, `Keystone PATCH ${path}: not found`);
    return res.body[key] as T;
  }

  private async remove(path: string): Promise<boolean> {
    return (await this.call('DELETE', path)).status !== 404;
  }

  async findDomain(name: string): Promise<Named | undefined> {
    return (await this.list<Named>(`/domains?name=${encodeURIComponent(name)}`, 'domains'))[0];
  }

  async findProject(name: string, domainId: string): Promise<Named | undefined> {
    const q = `name=${encodeURIComponent(name)}&domain_id=${encodeURIComponent(domainId)}`;
    return (await this.list<Named>(`/projects?${q}`, 'projects'))[0];
  }

  createProject(name: string, domainId: string, description: string): Promise<Named> {
    return this.create('/projects', 'project', { name, domain_id: domainId, description, enabled: true });
  }

  async findUser(name: string, domainId: string): Promise<KeystoneUser | undefined> {
    const q = `name=${encodeURIComponent(name)}&domain_id=${encodeURIComponent(domainId)}`;
    return (await this.list<KeystoneUser>(`/users?${q}`, 'users'))[0];
  }

  createUser(name: string, domainId: string, password: string, owner: string): Promise<KeystoneUser> {
    return this.create('/users', 'user', {
      name,
      domain_id: domainId,
      password,
      enabled: true,
      [OWNER_ATTRIBUTE]: owner,
    });
  }

  updateUser(id: string, changes: UserChanges): Promise<KeystoneUser> {
    return this.update(`/users/${id}`, 'user', changes);
  }

  deleteUser(id: string): Promise<boolean> {
    return this.remove(`/users/${id}`);
  }

  async findRole(name: string): Promise<Named | undefined> {
    return (await this.list<Named>(`/roles?name=${encodeURIComponent(name)}`, 'roles'))[0];
  }

  async hasProjectRole(projectId: string, userId: string, roleId: string): Promise<boolean> {
    return (await this.call('HEAD', `/projects/${projectId}/users/${userId}/roles/${roleId}`)).status === 204;
  }

  async grantProjectRole(projectId: string, userId: string, roleId: string): Promise<void> {
    await this.call('PUT', `/projects/${projectId}/users/${userId}/roles/${roleId}`);
  }

  listServices(type: string): Promise<KeystoneService[]> {
    return this.list(`/services?type=${encodeURIComponent(type)}`, 'services');
  }

  createService(value: NewService): Promise<KeystoneService> {
    return this.create('/services', 'service', { ...value, enabled: true });
  }

  updateService(id: string, changes: Partial<Omit<KeystoneService, 'id'>>): Promise<KeystoneService> {
    return this.update(`/services/${id}`, 'service', changes);
  }

  deleteService(id: string): Promise<boolean> {
    return this.remove(`/services/${id}`);
  }

  getRegion(id: string): Promise<KeystoneRegion | undefined> {
    return this.one(`/regions/${encodeURIComponent(id)}`, 'region');
  }

  createRegion(id: string, description: string): Promise<KeystoneRegion> {
    return this.create('/regions', 'region', { id, description });
  }

  deleteRegion(id: string): Promise<boolean> {
    return this.remove(`/regions/${encodeURIComponent(id)}`);
  }

  listEndpoints(serviceId: string): Promise<KeystoneEndpoint[]> {
    return this.list(`/endpoints?service_id=${encodeURIComponent(serviceId)}`, 'endpoints');
  }

  listRegionEndpoints(regionId: string): Promise<KeystoneEndpoint[]> {
    return this.list(`/endpoints?region_id=${encodeURIComponent(regionId)}`, 'endpoints');
  }

  createEndpoint(value: Omit<KeystoneEndpoint, 'id'>): Promise<KeystoneEndpoint> {
    return this.create('/endpoints', 'endpoint', value);
  }

  updateEndpoint(id: string, changes: Partial<Omit<KeystoneEndpoint, 'id'>>): Promise<KeystoneEndpoint> {
    return this.update(`/endpoints/${id}`, 'endpoint', changes);
  }

  deleteEndpoint(id: string): Promise<boolean> {
    return this.remove(`/endpoints/${id}`);
  }
}
