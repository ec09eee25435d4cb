import {
  KeystoneClient,
  KeystoneUnavailableError,
  identityV3Root,
  type Fetch,
  type ServiceCredentials,
} from '../../../../api-server/src/auth/keystone-client.js';

const CREDENTIALS: ServiceCredentials = {
  authUrl: 'http://keystone:5000',
  username: 'glance',
  userId: null,
  userDomainName: 'Default',
  userDomainId: null,
  password: 'service-password',
  projectName: 'service',
  projectId: null,
  projectDomainName: 'Default',
  projectDomainId: null,
};

const NOW = Date.parse('2030-01-01T00:00:00Z');
const iso = (ms: number): string => new Date(ms).toISOString().replace('Z', '000Z');

function tokenBody(expiresAt: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    token: {
      expires_at: iso(expiresAt),
      user: { id: 'user-1', name: 'alice', domain: { id: 'default', name: 'Default' } },
      project: { id: 'project-1', name: 'demo', domain: { id: 'corp', name: 'Corp' } },
      roles: [
        { id: 'r1', name: 'Member' },
        { id: 'r2', name: 'reader' },
      ],
      ...extra,
    },
  });
}

interface Call {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/** A stand-in Keystone: answers from `handler`, and records every request. */
function scripted(handler: (call: Call, index: number) => Response | Error): { fetch: Fetch; calls: Call[] } {
  const calls: Call[] = [];
  const fetch: Fetch = async (input, init) => {
    const call: Call = {
      method: init?.method ?? 'GET',
      url: String(input),
      headers: Object.fromEntries(new Headers(init?.headers).entries()),
      body: typeof init?.body === 'string' ? init.body : undefined,
    };
    calls.push(call);
    const answer = handler(call, calls.length - 1);
    if (answer instanceof Error) throw answer;
    return answer;
  };
  return { fetch, calls };
}

function issued(token: string, expiresAt: number): Response {
  return new Response(tokenBody(expiresAt), { status: 201, headers: { 'X-Subject-Token': token } });
}

function client(fetch: Fetch, now = () => NOW): KeystoneClient {
  return new KeystoneClient(CREDENTIALS, { fetch, timeoutMs: 5000, now });
}

describe('identityV3Root', () => {
  it('accepts auth_url with or without a version', () => {
    expect(identityV3Root('http://ks:5000')).toBe('http://ks:5000/v3');
    expect(identityV3Root('http://ks:5000/v3/')).toBe('http://ks:5000/v3');
    expect(identityV3Root('http://ks/identity/v2.0')).toBe('http://ks/identity/v3');
  });
});

describe('KeystoneClient', () => {
  it('authenticates with project-scoped password credentials, then validates with the service token', async () => {
    const { fetch, calls } = scripted((call) =>
      call.method === 'POST' ? issued('svc-1', NOW + 3600_000) : new Response(tokenBody(NOW + 600_000)),
    );
    const identity = await client(fetch).validate('user-token');
    expect(identity).toEqual({
      userId: 'user-1',
      userDomainId: 'default',
      projectId: 'project-1',
      projectDomainId: 'corp',
      isAdminProject: true,
      domainId: null,
      roles: ['member', 'reader'],
      systemScope: false,
      expiresAt: NOW + 600_000,
    });
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      'POST http://keystone:5000/v3/auth/tokens?nocatalog',
      'GET http://keystone:5000/v3/auth/tokens?nocatalog',
    ]);
    expect(JSON.parse(calls[0]?.body ?? '')).toEqual({
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: 'glance', domain: { name: 'Default' }, password: 'service-password' } },
        },
        scope: { project: { name: 'service', domain: { name: 'Default' } } },
      },
    });
    expect(calls[1]?.headers['x-auth-token']).toBe('svc-1');
    expect(calls[1]?.headers['x-subject-token']).toBe('user-token');
  });

  it('reads system and domain scope from the token', async () => {
    const { fetch } = scripted((call) =>
      call.method === 'POST'
        ? issued('svc', NOW + 3600_000)
        : new Response(tokenBody(NOW + 600_000, { project: undefined, system: { all: true } })),
    );
    expect(await client(fetch).validate('t')).toMatchObject({ projectId: null, systemScope: true });
  });

  it('answers null for a token Keystone does not know (404) or that has expired', async () => {
    let expired = false;
    const { fetch } = scripted((call) => {
      if (call.method === 'POST') return issued('svc', NOW + 3600_000);
      return expired ? new Response(tokenBody(NOW - 1)) : new Response('{}', { status: 404 });
    });
    const keystone = client(fetch);
    expect(await keystone.validate('garbage')).toBeNull();
    expired = true;
    expect(await keystone.validate('old')).toBeNull();
  });

  it('reuses the service token, and renews it when it nears expiry', async () => {
    let now = NOW;
    let issuedCount = 0;
    const { fetch, calls } = scripted((call) =>
      call.method === 'POST'
        ? issued(`svc-${++issuedCount}`, NOW + 600_000)
        : new Response(tokenBody(now + 60_000)),
    );
    const keystone = client(fetch, () => now);
    await keystone.validate('a');
    await keystone.validate('b');
    now = NOW + 500_000; // 100 s left: keystoneauth renews with less than 120 s.
    await keystone.validate('c');
    expect(calls.filter((c) => c.method === 'POST')).toHaveLength(2);
    expect(calls.filter((c) => c.method === 'GET').map((c) => c.headers['x-auth-token'])).toEqual([
      'svc-1',
      'svc-1',
      'svc-2',
    ]);
  });

  it('re-authenticates once when Keystone rejects the service token', async () => {
    let issuedCount = 0;
    const { fetch, calls } = scripted((call) => {
      if (call.method === 'POST') return issued(`svc-${++issuedCount}`, NOW + 3600_000);
      return call.headers['x-auth-token'] === 'svc-1'
        ? new Response('{}', { status: 401 })
        : new Response(tokenBody(NOW + 60_000));
    });
    expect(await client(fetch).validate('t')).not.toBeNull();
    expect(calls.map((c) => `${c.method}:${c.headers['x-auth-token'] ?? ''}`)).toEqual([
      'POST:',
      'GET:svc-1',
      'POST:',
      'GET:svc-2',
    ]);
  });

  it('shares one authentication between concurrent requests', async () => {
    const { fetch, calls } = scripted((call) =>
      call.method === 'POST' ? issued('svc', NOW + 3600_000) : new Response(tokenBody(NOW + 60_000)),
    );
    const keystone = client(fetch);
    await Promise.all([keystone.validate('a'), keystone.validate('b'), keystone.validate('c')]);
    expect(calls.filter((c) => c.method === 'POST')).toHaveLength(1);
  });

  it('retries once on a connection the server closed without saying so', async () => {
    const reset = Object.assign(new TypeError('fetch failed'), {
      cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
    });
    const { fetch, calls } = scripted((call, index) => {
      if (call.method === 'POST') return issued('svc', NOW + 3600_000);
      return index === 1 ? reset : new Response(tokenBody(NOW + 60_000));
    });
    expect(await client(fetch).validate('t')).not.toBeNull();
    expect(calls).toHaveLength(3);
  });

  it('reports Keystone as unavailable when it cannot be reached, without leaking the password', async () => {
    const refused = Object.assign(new TypeError('fetch failed'), {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5000'), { code: 'ECONNREFUSED' }),
    });
    const { fetch, calls } = scripted(() => refused);
    const failure = client(fetch).validate('t');
    await expect(failure).rejects.toBeInstanceOf(KeystoneUnavailableError);
    await expect(failure).rejects.toThrow(/ECONNREFUSED/);
    await expect(failure).rejects.not.toThrow(/service-password/);
    expect(calls).toHaveLength(1);
  });

  it('reports Keystone as unavailable when it refuses the service credentials', async () => {
    const { fetch } = scripted(() => new Response('{}', { status: 401 }));
    await expect(client(fetch).validate('t')).rejects.toThrow(
      'Keystone refused the service credentials (HTTP 401)',
    );
  });
});
