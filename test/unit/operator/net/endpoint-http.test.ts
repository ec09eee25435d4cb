import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EndpointHttp } from '../../../../operator/src/net/endpoint-http.js';
import { UrlPolicy, urlPolicyEnv } from '../../../../operator/src/net/url-policy.js';

// A real HTTP server on loopback plays Keystone; the names the tests use resolve only through the policy.
let server: Server;
let port = 0;
const seen: Array<{ path: string; host: string; auth: string }> = [];
const routes = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({
      path: req.url ?? '',
      host: req.headers.host ?? '',
      auth: req.headers['x-auth-token'] as string,
    });
    const route = routes.get(req.url ?? '');
    if (route) route(req, res);
    else res.writeHead(404).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  routes.set('/v3', (_req, res) => res.writeHead(200, { 'X-Answer': 'yes' }).end('{"version":{}}'));
  routes.set('/moved', (_req, res) => res.writeHead(307, { Location: '/v3' }).end());
  routes.set('/echo', (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => res.writeHead(201).end(body));
  });
});
afterAll(() => new Promise((r) => server.close(r)));
beforeEach(() => (seen.length = 0));

/** A policy whose names resolve as `names` says; loopback allowed only on the ports in `allow`. */
function policy(allow: string[], names: Record<string, string> = {}): UrlPolicy {
  return new UrlPolicy(urlPolicyEnv.parse({ URL_POLICY_ALLOW: allow.join(',') }), [], async (host) => [
    { address: names[host] ?? '192.0.2.30', family: 4 },
  ]);
}

describe('EndpointHttp', () => {
  it('connects to the address the policy checked, whatever the name would resolve to', async () => {
    // keystone.invalid does not resolve in DNS: reaching the server proves the socket went to the checked address.
    const http = new EndpointHttp(policy([`127.0.0.1:${port}`], { 'keystone.invalid': '127.0.0.1' }));
    const res = await http.request(`http://keystone.invalid:${port}/v3`, { method: 'GET', timeoutMs: 5000 });
    expect(res).toMatchObject({ status: 200, text: '{"version":{}}', headers: { 'x-answer': 'yes' } });
    expect(seen).toEqual([{ path: '/v3', host: `keystone.invalid:${port}`, auth: undefined }]);
  });

  it('sends a body with its length', async () => {
    const http = new EndpointHttp(policy([`127.0.0.1:${port}`]));
    const res = await http.request(`http://127.0.0.1:${port}/echo`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"auth":"é"}',
      timeoutMs: 5000,
    });
    expect(res).toMatchObject({ status: 201, text: '{"auth":"é"}' });
  });

  it.each([
    ['another port of an allowed address', () => `http://127.0.0.1:${port + 1}/v3`, () => '127.0.0.1 port'],
    ['the metadata address', () => 'http://169.254.169.254/v3', () => '169.254.169.254 port 80'],
    [
      'a name resolving to loopback',
      () => `http://keystone.invalid:${port}/v3`,
      () => 'keystone.invalid (127.0.0.1)',
    ],
  ])('refuses %s with EndpointNotAllowed, sending nothing', async (_what, url, named) => {
    const http = new EndpointHttp(policy([], { 'keystone.invalid': '127.0.0.1' }));
    const err: unknown = await http
      .request(url(), { method: 'POST', headers: { 'X-Auth-Token': 'secret' }, body: '{}', timeoutMs: 5000 })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'EndpointNotAllowed' });
    expect((err as Error).message).toContain(named());
    expect(seen).toEqual([]);
  });

  it('does not follow a redirect: the 3xx is the answer', async () => {
    const http = new EndpointHttp(policy([`127.0.0.1:${port}`]));
    const res = await http.request(`http://127.0.0.1:${port}/moved`, {
      method: 'POST',
      headers: { 'X-Auth-Token': 'secret' },
      timeoutMs: 5000,
    });
    expect(res.status).toBe(307);
    expect(seen.map((s) => s.path)).toEqual(['/moved']);
  });

  it('reaches a trusted origin (the operator’s own Service) without the policy, and only that origin', async () => {
    const http = new EndpointHttp(policy([]), [`http://127.0.0.1:${port}`]);
    const res = await http.request(`http://127.0.0.1:${port}/v3`, { method: 'GET', timeoutMs: 5000 });
    expect(res.status).toBe(200);
    await expect(
      http.request(`https://127.0.0.1:${port}/v3`, { method: 'GET', timeoutMs: 5000 }),
    ).rejects.toMatchObject({ reason: 'EndpointNotAllowed' });
  });
});
