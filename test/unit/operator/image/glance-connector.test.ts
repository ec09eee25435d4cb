import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KeystoneGlanceConnector, type GlanceTarget } from '../../../../operator/src/image/target.js';
import { UrlPolicy, urlPolicyEnv } from '../../../../operator/src/net/url-policy.js';

// Real HTTP servers on loopback play Keystone and Glance; the operator's live connector reaches them.
interface Played {
  server: Server;
  port: number;
  requests: Array<{ method: string; path: string; body: string }>;
}

async function play(
  answer: (path: string) => { status: number; headers?: object; body: string },
): Promise<Played> {
  const played: Played = { server: createServer(), port: 0, requests: [] };
  played.server.on('request', (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      played.requests.push({ method: req.method ?? '', path: req.url ?? '', body });
      const a = answer(req.url ?? '');
      res.writeHead(a.status, { 'Content-Type': 'application/json', ...a.headers }).end(a.body);
    });
  });
  await new Promise<void>((r) => played.server.listen(0, '127.0.0.1', r));
  played.port = (played.server.address() as AddressInfo).port;
  return played;
}

let glance: Played;
let keystone: Played;
/** The image endpoint Keystone's catalog names. */
let catalogUrl = '';

beforeAll(async () => {
  glance = await play(() => ({ status: 200, body: JSON.stringify({ images: [] }) }));
  keystone = await play(() => ({
    status: 201,
    headers: { 'X-Subject-Token': 'the-token' },
    body: JSON.stringify({
      token: {
        expires_at: new Date(Date.now() + 3_600_000).toISOString(),
        project: { id: 'the-project-id' },
        catalog: [{ type: 'image', endpoints: [{ interface: 'public', url: catalogUrl, region_id: 'R' }] }],
      },
    }),
  }));
});
afterAll(async () => {
  for (const p of [glance, keystone]) await new Promise((r) => p.server.close(r));
});
beforeEach(() => {
  glance.requests.length = 0;
  keystone.requests.length = 0;
});

const target = (extra: Partial<GlanceTarget> = {}): GlanceTarget => ({
  credentials: {
    authUrl: `http://127.0.0.1:${keystone.port}/v3`,
    username: 'demo',
    password: 'the-password',
    project: 'demo',
    userDomain: 'Default',
    projectDomain: 'Default',
  },
  endpoint: { interface: 'public' },
  ...extra,
});

const allowing = (...ports: number[]) =>
  new UrlPolicy(urlPolicyEnv.parse({ URL_POLICY_ALLOW: ports.map((p) => `127.0.0.1:${p}`).join(',') }));

describe('KeystoneGlanceConnector under the URL policy', () => {
  it('sends the password to an allowed Keystone and the token to an allowed Glance', async () => {
    catalogUrl = `http://127.0.0.1:${glance.port}/v2`;
    const api = await new KeystoneGlanceConnector(
      allowing(keystone.port, glance.port),
      () => undefined,
    ).connect(target());
    expect(await api.findByName('x')).toEqual([]);
    expect(keystone.requests.map((r) => r.path)).toEqual(['/v3/auth/tokens']);
    expect(glance.requests.map((r) => r.path)).toEqual(['/v2/images?name=x&limit=10']);
  });

  it("looks for marked images in the token's project only, hidden ones included", async () => {
    catalogUrl = `http://127.0.0.1:${glance.port}/v2`;
    const api = await new KeystoneGlanceConnector(
      allowing(keystone.port, glance.port),
      () => undefined,
    ).connect(target());
    expect(api.projectId).toBe('the-project-id');
    expect(await api.findByProperty('glance_operator_image_uid', 'u-1')).toEqual([]);
    expect(glance.requests.map((r) => r.path).sort()).toEqual([
      '/v2/images?glance_operator_image_uid=u-1&owner=the-project-id&limit=10',
      '/v2/images?glance_operator_image_uid=u-1&owner=the-project-id&limit=10&os_hidden=true',
    ]);
  });

  it('refuses a Keystone on loopback with EndpointNotAllowed, sending it no password', async () => {
    const connect = new KeystoneGlanceConnector(allowing(), () => undefined).connect(target());
    await expect(connect).rejects.toMatchObject({ reason: 'EndpointNotAllowed' });
    expect(keystone.requests).toEqual([]);
  });

  it("refuses the catalog's image endpoint on a refused address before the token goes there", async () => {
    catalogUrl = `http://127.0.0.1:${glance.port}`;
    const connect = new KeystoneGlanceConnector(allowing(keystone.port), () => undefined).connect(target());
    await expect(connect).rejects.toMatchObject({ reason: 'EndpointNotAllowed' });
    await expect(connect).rejects.toThrow(`127.0.0.1 port ${glance.port}`);
    expect(keystone.requests).toHaveLength(1);
    expect(glance.requests).toEqual([]);
  });

  it("reaches the GlanceService's own API Service without the policy", async () => {
    catalogUrl = `http://127.0.0.1:${glance.port}`;
    const api = await new KeystoneGlanceConnector(allowing(keystone.port), () => undefined).connect(
      target({ trustedImageUrl: catalogUrl }),
    );
    expect(await api.findByName('y')).toEqual([]);
    expect(glance.requests).toHaveLength(1);
  });
});
