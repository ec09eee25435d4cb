import { KeystoneLimits, LimitsUnavailableError } from '../../../../api-server/src/quota/limits-client.js';
import { overLimit } from '../../../../api-server/src/quota/quotas.js';
import { answered } from '../domain/helpers.js';

// A fake Keystone answering the few calls oslo.limit makes; every request is recorded.

interface FakeKeystone {
  model?: string;
  endpoint?: { service_id: string; region_id: string | null } | null;
  projectLimits?: Record<string, number>;
  registered?: Record<string, number>;
}

function fakeKeystone(state: FakeKeystone) {
  const calls: { method: string; url: URL; token: string | null; body: unknown }[] = [];
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { 'Content-Type': 'application/json', ...headers },
    });
  const fetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input));
    const headers = new Headers(init?.headers);
    const body: unknown = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
    calls.push({ method: init?.method ?? 'GET', url, token: headers.get('x-auth-token'), body });
    const path = url.pathname.replace(/^\/v3/, '');
    if (path === '/auth/tokens') {
      return Promise.resolve(
        json(
          201,
          { token: { expires_at: new Date(Date.now() + 3_600_000).toISOString() } },
          {
            'X-Subject-Token': `token-${calls.length}`,
          },
        ),
      );
    }
    if (path === '/limits/model')
      return Promise.resolve(json(200, { model: { name: state.model ?? 'flat' } }));
    if (path.startsWith('/endpoints/')) {
      return Promise.resolve(
        state.endpoint === null ? json(404, {}) : json(200, { endpoint: state.endpoint }),
      );
    }
    const resource = url.searchParams.get('resource_name') ?? '';
    if (path === '/limits') {
      const limit = state.projectLimits?.[resource];
      return Promise.resolve(json(200, { limits: limit === undefined ? [] : [{ resource_limit: limit }] }));
    }
    if (path === '/registered_limits') {
      const limit = state.registered?.[resource];
      return Promise.resolve(
        json(200, { registered_limits: limit === undefined ? [] : [{ default_limit: limit }] }),
      );
    }
    return Promise.resolve(json(404, {}));
  };
  return { fetch, calls };
}

const credentials = {
  authUrl: 'http://keystone.test:5000',
  username: 'glance',
  userId: null,
  userDomainName: 'Default',
  userDomainId: null,
  password: 'pw',
  projectName: null,
  projectId: null,
  projectDomainName: null,
  projectDomainId: null,
  systemScope: true,
};

function limitsWith(state: FakeKeystone) {
  const keystone = fakeKeystone({ endpoint: { service_id: 'svc', region_id: 'RegionOne' }, ...state });
  const client = new KeystoneLimits(credentials, 'ep-1', {
    fetch: keystone.fetch,
    timeoutMs: 1000,
    now: Date.now,
  });
  return { client, calls: keystone.calls };
}

describe('KeystoneLimits (oslo.limit flat model)', () => {
  test('a project limit wins, then the registered limit, then 0', async () => {
    const { client, calls } = limitsWith({
      projectLimits: { image_count_total: 3 },
      registered: { image_count_total: 10, image_size_total: 1000 },
    });
    const limits = await client.limits('p1', ['image_count_total', 'image_size_total', 'image_stage_total']);
    expect([...limits]).toEqual([
      ['image_count_total', 3],
      ['image_size_total', 1000],
      ['image_stage_total', 0],
    ]);
    const lookups = calls.filter((c) => c.url.pathname.endsWith('/limits'));
    expect(lookups[0]?.url.searchParams.get('project_id')).toBe('p1');
    expect(lookups[0]?.url.searchParams.get('service_id')).toBe('svc');
    expect(lookups[0]?.url.searchParams.get('region_id')).toBe('RegionOne');
  });

  test('without a project only registered limits are read', async () => {
    const { client, calls } = limitsWith({
      projectLimits: { image_count_total: 3 },
      registered: { image_count_total: 7 },
    });
    expect((await client.limits(null, ['image_count_total'])).get('image_count_total')).toBe(7);
    expect(calls.some((c) => c.url.pathname.endsWith('/v3/limits'))).toBe(false);
  });

  test('authenticates once, system-scoped, and looks the endpoint up once', async () => {
    const { client, calls } = limitsWith({ registered: { image_count_total: 1 } });
    await client.limits('p1', ['image_count_total']);
    await client.limits('p1', ['image_count_total']);
    const auths = calls.filter((c) => c.method === 'POST');
    expect(auths).toHaveLength(1);
    expect(auths[0]?.body).toMatchObject({ auth: { scope: { system: { all: true } } } });
    expect(calls.filter((c) => c.url.pathname.startsWith('/v3/endpoints/'))).toHaveLength(1);
    expect(calls.filter((c) => c.method === 'GET').every((c) => c.token === 'token-1')).toBe(true);
  });

  test('an endpoint without a region is not filtered by region', async () => {
    const keystone = fakeKeystone({ endpoint: { service_id: 'svc', region_id: null }, registered: { x: 2 } });
    const client = new KeystoneLimits(credentials, 'ep-1', {
      fetch: keystone.fetch,
      timeoutMs: 1000,
      now: Date.now,
    });
    expect((await client.limits('p1', ['x'])).get('x')).toBe(2);
    expect(keystone.calls.some((c) => c.url.searchParams.has('region_id'))).toBe(false);
  });

  test('an unknown endpoint or another enforcement model is an error, not a silent limit', async () => {
    await expect(limitsWith({ endpoint: null }).client.limits('p1', ['x'])).rejects.toThrow(
      new LimitsUnavailableError("can't find endpoint for ep-1"),
    );
    await expect(limitsWith({ model: 'strict-two-level' }).client.limits('p1', ['x'])).rejects.toThrow(
      /strict-two-level is not supported/,
    );
  });
});

test("the 413 reads as glance's LimitExceeded around oslo.limit's ProjectOverLimit", () => {
  const err = answered(overLimit('p1', 'image_count_total', 1, 1, 1));
  expect(err.status).toBe(413);
  expect(err.explanation).toBe(
    'The request returned a 413 Request Entity Too Large. This generally means that rate limiting or a quota ' +
      'threshold was breached.\n\nThe response body:\n' +
      'Project p1 is over a limit for [Resource image_count_total is over limit of 1 due to current usage 1 and delta 1]',
  );
  expect(overLimit(null, 'image_size_total', 0, 0, 0).explanation).toContain('Project None is over a limit');
});
