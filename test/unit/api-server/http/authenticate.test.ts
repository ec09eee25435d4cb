import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import pino from 'pino';
import type { Fetch } from '../../../../api-server/src/auth/keystone-client.js';
import { createAuthMiddleware } from '../../../../api-server/src/http/authenticate.js';
import { buildPolicy } from '../../../../api-server/src/auth/policy.js';
import { parseIni } from '../../../../api-server/src/config/ini.js';
import { validateConfig } from '../../../../api-server/src/config/load.js';
import { errorHandler } from '../../../../api-server/src/http/error-handler.js';
import { assignRequestId } from '../../../../api-server/src/http/request-id.js';

const logger = pino({ level: 'silent' });
const NOW = Date.parse('2030-01-01T00:00:00Z');

const KEYSTONE_CONF = `
[database]
connection = mysql+pymysql://glance:pw@db/glance
[paste_deploy]
flavor = keystone
[keystone_authtoken]
www_authenticate_uri = http://public-keystone:5000
auth_url = http://keystone:5000
auth_type = password
username = glance
user_domain_name = Default
password = service-pw
project_name = service
project_domain_name = Default
`;

function config(text: string) {
  return validateConfig(parseIni(text, 'test.conf'), 'test.conf');
}

/** A Keystone that knows one token per entry of `tokens` and rejects every other. */
function keystone(tokens: Record<string, object>, reachable = true): Fetch {
  return async (_input, init) => {
    if (!reachable)
      throw Object.assign(new TypeError('fetch failed'), { cause: new Error('connect ECONNREFUSED') });
    if (init?.method === 'POST') {
      return new Response(
        JSON.stringify({
          token: { expires_at: '2030-01-01T06:00:00.000000Z', user: { id: 'glance' }, roles: [] },
        }),
        { status: 201, headers: { 'X-Subject-Token': 'service-token' } },
      );
    }
    const subject = new Headers(init?.headers).get('x-subject-token') ?? '';
    const token = tokens[subject];
    return token ? new Response(JSON.stringify({ token })) : new Response('{}', { status: 404 });
  };
}

let server: Server;
let base: string;

async function serve(middleware: express.RequestHandler): Promise<void> {
  const app = express();
  app.use(assignRequestId(logger));
  app.use(middleware);
  app.get('/whoami', (_req, res) => {
    res.json({ context: res.locals.context, requestId: res.locals.requestId });
  });
  app.use(errorHandler(logger));
  server = createServer(app).listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  server.close();
  await once(server, 'close');
});

describe('noauth flavor', () => {
  it('makes every request an anonymous admin and ignores identity headers', async () => {
    await serve(createAuthMiddleware(config('[database]\nconnection = mysql://g:p@db/glance\n'), logger));
    const res = await fetch(`${base}/whoami`, {
      headers: {
        'X-Tenant-Id': 'p1',
        'X-Roles': 'admin,member',
        'X-User-Id': 'u1',
        'X-Auth-Token': 'whatever',
      },
    });
    const body = (await res.json()) as { context: unknown; requestId: string };
    expect(res.status).toBe(200);
    expect(body.context).toEqual({
      requestId: body.requestId,
      userId: null,
      projectId: null,
      domainId: null,
      roles: [],
      systemScope: false,
      isAdmin: true,
      authToken: null,
    });
  });
});

describe('keystone flavor', () => {
  const policy = buildPolicy({ enforceNewDefaults: false, enforceScope: false });
  const alice = {
    expires_at: '2030-01-01T01:00:00.000000Z',
    user: { id: 'alice-id', domain: { id: 'default' } },
    project: { id: 'demo-id', domain: { id: 'default' } },
    roles: [{ name: 'Member' }, { name: 'reader' }],
    is_admin_project: false,
  };
  const boss = { ...alice, user: { id: 'boss-id' }, roles: [{ name: 'Admin' }] };

  it('turns a valid token into the request context', async () => {
    const cfg = config(KEYSTONE_CONF);
    await serve(
      createAuthMiddleware(cfg, logger, { policy, fetch: keystone({ alice, boss }), now: () => NOW }),
    );
    const res = await fetch(`${base}/whoami`, { headers: { 'X-Auth-Token': ' alice ' } });
    const body = (await res.json()) as { context: unknown; requestId: string };
    expect(body.context).toEqual({
      requestId: body.requestId,
      userId: 'alice-id',
      userDomainId: 'default',
      projectId: 'demo-id',
      projectDomainId: 'default',
      isAdminProject: false,
      domainId: null,
      roles: ['member', 'reader'],
      systemScope: false,
      isAdmin: false,
      authToken: 'alice',
    });
    const admin = await fetch(`${base}/whoami`, { headers: { 'X-Auth-Token': 'boss' } });
    expect(((await admin.json()) as { context: { isAdmin: boolean } }).context.isAdmin).toBe(true);
  });

  it.each([
    ['no token', {}],
    ['an unknown token', { 'X-Auth-Token': 'garbage' }],
  ])('answers %s with 401 and a Keystone challenge', async (_name, headers: Record<string, string>) => {
    await serve(
      createAuthMiddleware(config(KEYSTONE_CONF), logger, {
        policy,
        fetch: keystone({ alice }),
        now: () => NOW,
      }),
    );
    const res = await fetch(`${base}/whoami`, { headers: { ...headers, Accept: 'application/json' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Keystone uri="http://public-keystone:5000"');
    expect(await res.json()).toMatchObject({ code: '401 Unauthorized', title: 'Unauthorized' });
  });

  it('answers 401 when Keystone cannot be reached, as glance does with delay_auth_decision', async () => {
    await serve(
      createAuthMiddleware(config(KEYSTONE_CONF), logger, {
        policy,
        fetch: keystone({}, false),
        now: () => NOW,
      }),
    );
    const res = await fetch(`${base}/whoami`, { headers: { 'X-Auth-Token': 'alice' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Keystone uri="http://public-keystone:5000"');
  });
});
