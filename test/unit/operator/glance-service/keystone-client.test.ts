import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { liveAdminConnectors } from '../../../../operator/src/glance-service/live-admin-clients.js';
import { UrlPolicy, urlPolicyEnv } from '../../../../operator/src/net/url-policy.js';
import { createOperatorMetrics } from '../../../../operator/src/runtime/operator-metrics.js';
import { NotLeaderError } from '../../../../operator/src/runtime/write-fence.js';

// A real HTTP server on loopback plays Keystone for the operator's live admin client.
let server: Server;
let port = 0;
const requests: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () =>
      res
        .writeHead(201, { 'X-Subject-Token': 'admin-token', 'Content-Type': 'application/json' })
        .end(JSON.stringify({ token: { expires_at: new Date(Date.now() + 3_600_000).toISOString() } })),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise((r) => server.close(r)));
beforeEach(() => (requests.length = 0));

const admin = {
  username: 'admin',
  password: 'admin-password',
  userDomainName: 'Default',
  project: { name: 'admin', domainName: 'Default' },
};
const connectors = (allow: string) =>
  liveAdminConnectors(
    createOperatorMetrics(),
    new UrlPolicy(urlPolicyEnv.parse({ URL_POLICY_ALLOW: allow })),
  );

describe("The GlanceService's Keystone admin client under the URL policy", () => {
  it('authenticates against an allowed Keystone', async () => {
    const keystone = await connectors(`127.0.0.1:${port}`).keystone(`http://127.0.0.1:${port}/v3`, admin);
    expect(
      await keystone.checkPassword({ username: 'glance', password: 'p', userDomainName: 'Default' }),
    ).toBe(true);
    expect(requests).toEqual(['POST /v3/auth/tokens?nocatalog', 'POST /v3/auth/tokens?nocatalog']);
  });

  it('refuses a Keystone the policy does not allow with EndpointNotAllowed, sending it no credential', async () => {
    const opening = connectors('').keystone(`http://127.0.0.1:${port}/v3`, admin);
    await expect(opening).rejects.toMatchObject({ reason: 'EndpointNotAllowed' });
    expect(requests).toEqual([]);
  });
});

describe('The admin clients after the lease is lost', () => {
  it('send no write once the fence is closed, and still read', async () => {
    let leading = true;
    const fence = {
      check: () => {
        if (!leading) throw new NotLeaderError('lost the lease');
      },
    };
    const keystone = await liveAdminConnectors(
      createOperatorMetrics(),
      new UrlPolicy(urlPolicyEnv.parse({ URL_POLICY_ALLOW: `127.0.0.1:${port}` })),
      fence,
    ).keystone(`http://127.0.0.1:${port}/v3`, admin);
    leading = false;
    requests.length = 0;
    await expect(keystone.createRegion('RegionX', 'made after the lease was lost')).rejects.toBeInstanceOf(
      NotLeaderError,
    );
    await keystone.getRegion('RegionX');
    expect(requests).toEqual(['GET /v3/regions/RegionX']);
  });
});
