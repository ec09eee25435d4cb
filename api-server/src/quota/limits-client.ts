import { z } from 'zod';
import {
  identityV3Root,
  passwordAuthBody,
  type Fetch,
  type ServiceCredentials,
} from '../auth/keystone-client.js';

/** [oslo_limit]'s keystoneauth password credentials. */
export interface LimitsCredentials extends ServiceCredentials {
  /** system_scope = all: a system-scoped token instead of a project-scoped one. */
  systemScope: boolean;
}

/** Keystone could not tell us the limits (upstream lets this surface as a 500). */
export class LimitsUnavailableError extends Error {
  override name = 'LimitsUnavailableError';
}

// Only what we read of Keystone's answers; validated because they come from the network.
const tokenDocument = z.object({ token: z.object({ expires_at: z.string() }) });
const endpointDocument = z.object({
  endpoint: z.object({ service_id: z.string(), region_id: z.string().nullable().optional() }),
});
const modelDocument = z.object({ model: z.object({ name: z.string() }) });
const limitsDocument = z.object({ limits: z.array(z.object({ resource_limit: z.number().int() })) });
const registeredDocument = z.object({
  registered_limits: z.array(z.object({ default_limit: z.number().int() })),
});

// keystoneauth renews a token with less than this left (BaseIdentityPlugin.MIN_TOKEN_LIFE_SECONDS).
const MIN_TOKEN_LIFE_MS = 120_000;

/**
 * oslo.limit's flat enforcer as far as Keystone is concerned: the limit of a resource for a project is its
 * project limit, else the registered (default) limit, else 0; both are looked up for the service and region of
 * [oslo_limit] endpoint_id. Limits are read afresh for every check, as upstream builds an Enforcer per check,
 * so a limit changed in Keystone applies at once.
 */
export class KeystoneLimits {
  private readonly root: string;
  private token: { value: string; expiresAt: number } | null = null;
  private target: { serviceId: string; regionId: string | null } | null = null;

  constructor(
    private readonly credentials: LimitsCredentials,
    private readonly endpointId: string,
    private readonly options: { fetch: Fetch; timeoutMs: number; now: () => number },
  ) {
    this.root = identityV3Root(credentials.authUrl);
  }

  /** Each resource's limit for the project (null: only registered limits, as oslo.limit does for None). */
  async limits<R extends string>(projectId: string | null, resources: readonly R[]): Promise<Map<R, number>> {
    const model = modelDocument.parse(await this.get('/limits/model')).model.name;
    if (model !== 'flat') {
      throw new LimitsUnavailableError(`enforcement model ${model} is not supported`);
    }
    const { serviceId, regionId } = await this.endpoint();
    const scope = { service_id: serviceId, ...(regionId !== null && { region_id: regionId }) };
    const result = new Map<R, number>();
    for (const resource of resources) {
      let limit: number | undefined;
      if (projectId !== null) {
        const query = new URLSearchParams({ ...scope, resource_name: resource, project_id: projectId });
        limit = limitsDocument.parse(await this.get(`/limits?${query}`)).limits[0]?.resource_limit;
      }
      if (limit === undefined) {
        const query = new URLSearchParams({ ...scope, resource_name: resource });
        const doc = registeredDocument.parse(await this.get(`/registered_limits?${query}`));
        limit = doc.registered_limits[0]?.default_limit;
      }
      // No limit registered at all: nothing of the resource may be used.
      result.set(resource, limit ?? 0);
    }
    return result;
  }

  private async endpoint(): Promise<{ serviceId: string; regionId: string | null }> {
    if (!this.target) {
      const doc = endpointDocument.parse(await this.get(`/endpoints/${encodeURIComponent(this.endpointId)}`));
      this.target = { serviceId: doc.endpoint.service_id, regionId: doc.endpoint.region_id ?? null };
    }
    return this.target;
  }

  private async get(path: string): Promise<unknown> {
    let response = await this.request(path, await this.serviceToken(false));
    if (response.status === 401) response = await this.request(path, await this.serviceToken(true));
    if (response.status === 404 && path.startsWith('/endpoints/')) {
      await response.body?.cancel();
      throw new LimitsUnavailableError(`can't find endpoint for ${this.endpointId}`);
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new LimitsUnavailableError(
        `Keystone answered HTTP ${response.status} to GET ${path.split('?')[0]}`,
      );
    }
    return response.json();
  }

  private request(path: string, token: string): Promise<Response> {
    return this.fetch(`${this.root}${path}`, {
      headers: { 'X-Auth-Token': token, Accept: 'application/json' },
    });
  }

  private async serviceToken(force: boolean): Promise<string> {
    const cached = this.token;
    if (!force && cached && cached.expiresAt - this.options.now() > MIN_TOKEN_LIFE_MS) return cached.value;
    const response = await this.fetch(`${this.root}/auth/tokens?nocatalog`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: passwordAuthBody(this.credentials, this.credentials.systemScope),
    });
    const value = response.headers.get('x-subject-token');
    if (response.status !== 201 || !value) {
      await response.body?.cancel();
      throw new LimitsUnavailableError(
        `Keystone refused the [oslo_limit] credentials (HTTP ${response.status})`,
      );
    }
    const doc = tokenDocument.parse(await response.json());
    this.token = { value, expiresAt: Date.parse(doc.token.expires_at) };
    return value;
  }

  private async fetch(url: string, init: RequestInit): Promise<Response> {
    const attempt = () =>
      this.options.fetch(url, { ...init, signal: AbortSignal.timeout(this.options.timeoutMs) });
    try {
      try {
        return await attempt();
      } catch {
        // uWSGI drops idle keep-alive connections silently: the first request on a dead socket fails at once.
        return await attempt();
      }
    } catch (err) {
      throw new LimitsUnavailableError(`cannot reach Keystone at ${this.root}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
}
