import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import express from 'express';
import pino from 'pino';
import type { RequestContext } from '../../../../api-server/src/domain/request-context.js';
import { createAuthMiddleware } from '../../../../api-server/src/http/authenticate.js';
import { parseIni } from '../../../../api-server/src/config/ini.js';
import { validateConfig } from '../../../../api-server/src/config/load.js';
import { errorHandler } from '../../../../api-server/src/http/error-handler.js';
import { assignRequestId } from '../../../../api-server/src/http/request-id.js';
import { stackValue } from '../../../harness/stack-env.js';

// The auth middleware against the stack's real Keystone, with the glance service user's credentials.
const KEYSTONE = stackValue('OS_AUTH_URL');
const ADMIN = [stackValue('OS_USERNAME'), stackValue('OS_PASSWORD'), stackValue('OS_PROJECT_NAME')] as const;
const TOKEN_CACHE_SECONDS = 3;

interface Issued {
  token: string;
  userId: string;
  projectId: string;
  roles: string[];
}

async function keystone(path: string, init: RequestInit & { token?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('Content-Type', 'application/json');
  if (init.token) headers.set('X-Auth-Token', init.token);
  return fetch(`${KEYSTONE}${path}`, { ...init, headers });
}

async function issueToken(user: string, password: string, project: string): Promise<Issued> {
  const res = await keystone('/auth/tokens?nocatalog', {
    method: 'POST',
    body: JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: user, domain: { name: 'Default' }, password } },
        },
        scope: { project: { name: project, domain: { name: 'Default' } } },
      },
    }),
  });
  expect(res.status).toBe(201);
  const body = (await res.json()) as {
    token: { user: { id: string }; project: { id: string }; roles: Array<{ name: string }> };
  };
  return {
    token: res.headers.get('x-subject-token') as string,
    userId: body.token.user.id,
    projectId: body.token.project.id,
    roles: body.token.roles.map((r) => r.name.toLowerCase()),
  };
}

// Counts what the middleware asks Keystone, by wrapping the fetch it uses; Keystone itself is untouched.
const validations: string[] = [];
const countingFetch: typeof fetch = (input, init) => {
  const method = init?.method ?? 'GET';
  if (method === 'GET' && String(input).includes('/auth/tokens')) {
    validations.push(new Headers(init?.headers).get('x-subject-token') ?? '');
  }
  return fetch(input, init);
};

const config = validateConfig(
  parseIni(
    `
[database]
# Required by the configuration, never opened here.
connection = mysql+pymysql://unused:unused@127.0.0.1/unused
[paste_deploy]
flavor = keystone
[keystone_authtoken]
www_authenticate_uri = ${KEYSTONE.replace(/\/v3\/?$/, '')}
auth_url = ${KEYSTONE}
auth_type = password
username = ${stackValue('GLANCE_SERVICE_USER')}
password = ${stackValue('GLANCE_SERVICE_PASSWORD')}
user_domain_name = Default
project_name = service
project_domain_name = Default
region_name = ${stackValue('OS_REGION_NAME')}
token_cache_time = ${TOKEN_CACHE_SECONDS}
`,
    'keystone-auth.conf',
  ),
  'keystone-auth.conf',
);

let server: Server;
let base: string;
let adminToken: string;
const cleanup: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  const app = express();
  const logger = pino({ level: 'silent' });
  app.use(assignRequestId(logger));
  app.use(createAuthMiddleware(config, logger, { fetch: countingFetch }));
  app.get('/whoami', (_req, res) => {
    res.json(res.locals.context);
  });
  app.use(errorHandler(logger));
  server = createServer(app).listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  adminToken = (await issueToken(...ADMIN)).token;
});

afterAll(async () => {
  for (const undo of cleanup.reverse()) await undo();
  server.close();
  await once(server, 'close');
});

async function whoami(token: string): Promise<Response> {
  return fetch(`${base}/whoami`, { headers: { 'X-Auth-Token': token, Accept: 'application/json' } });
}

/** A project with one user holding only the member role, removed after the tests. */
async function createMemberPersona(): Promise<{ user: string; password: string; project: string }> {
  const suffix = randomUUID().slice(0, 8);
  const password = randomBytes(18).toString('base64url');
  const project = `glance-auth-it-${suffix}`;
  const user = `glance-auth-it-${suffix}`;
  const projectRes = await keystone('/projects', {
    method: 'POST',
    token: adminToken,
    body: JSON.stringify({ project: { name: project, domain_id: 'default' } }),
  });
  expect(projectRes.status).toBe(201);
  const projectId = ((await projectRes.json()) as { project: { id: string } }).project.id;
  cleanup.push(() => keystone(`/projects/${projectId}`, { method: 'DELETE', token: adminToken }));
  const userRes = await keystone('/users', {
    method: 'POST',
    token: adminToken,
    body: JSON.stringify({ user: { name: user, domain_id: 'default', password } }),
  });
  expect(userRes.status).toBe(201);
  const userId = ((await userRes.json()) as { user: { id: string } }).user.id;
  cleanup.push(() => keystone(`/users/${userId}`, { method: 'DELETE', token: adminToken }));
  const roles = (await (await keystone('/roles?name=member', { token: adminToken })).json()) as {
    roles: Array<{ id: string }>;
  };
  const grant = await keystone(`/projects/${projectId}/users/${userId}/roles/${roles.roles[0]?.id}`, {
    method: 'PUT',
    token: adminToken,
  });
  expect(grant.status).toBe(204);
  return { user, password, project };
}

describe('auth middleware with the real Keystone', () => {
  test("a real admin token validates to the admin's user, project and roles", async () => {
    const issued = await issueToken(...ADMIN);
    const res = await whoami(issued.token);
    expect(res.status).toBe(200);
    const ctx = (await res.json()) as RequestContext;
    expect(ctx).toMatchObject({
      userId: issued.userId,
      projectId: issued.projectId,
      domainId: null,
      systemScope: false,
      isAdmin: true,
      authToken: issued.token,
    });
    expect(ctx.roles).toContain('admin');
    expect([...ctx.roles].sort()).toEqual([...issued.roles].sort());
    expect(ctx.requestId).toMatch(/^req-[0-9a-f-]{36}$/);
  });

  test('a member-only user of a fresh project is not an admin, with lower-case roles', async () => {
    const persona = await createMemberPersona();
    const issued = await issueToken(persona.user, persona.password, persona.project);
    const ctx = (await (await whoami(issued.token)).json()) as RequestContext;
    expect(ctx).toMatchObject({ userId: issued.userId, projectId: issued.projectId, isAdmin: false });
    expect(ctx.roles).toContain('member');
    expect(ctx.roles).not.toContain('admin');
  });

  test('a garbage token gets 401 with the WWW-Authenticate challenge', async () => {
    const res = await whoami(`garbage-${randomUUID()}`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(`Keystone uri="${KEYSTONE.replace(/\/v3\/?$/, '')}"`);
    expect(await res.json()).toMatchObject({ code: '401 Unauthorized', title: 'Unauthorized' });
  });

  test('no token gets 401 without asking Keystone', async () => {
    const before = validations.length;
    const res = await fetch(`${base}/whoami`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Keystone uri="/);
    expect(validations.length).toBe(before);
  });

  test('the cache spares Keystone a second round trip for the same token', async () => {
    const { token } = await issueToken(...ADMIN);
    const before = validations.filter((t) => t === token).length;
    expect((await whoami(token)).status).toBe(200);
    expect((await whoami(token)).status).toBe(200);
    expect(validations.filter((t) => t === token).length - before).toBe(1);
  });

  test('a revoked token is rejected once the cache entry expires', async () => {
    const { token } = await issueToken(...ADMIN);
    expect((await whoami(token)).status).toBe(200);
    const revoke = await keystone('/auth/tokens', {
      method: 'DELETE',
      token: adminToken,
      headers: { 'X-Subject-Token': token },
    });
    expect(revoke.status).toBe(204);
    // Like keystonemiddleware, a cached token stays trusted until token_cache_time runs out...
    expect((await whoami(token)).status).toBe(200);
    await sleep(TOKEN_CACHE_SECONDS * 1000 + 500);
    // ...and then Keystone's answer is asked for again, and it is no.
    const res = await whoami(token);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Keystone uri="/);
  });
});
