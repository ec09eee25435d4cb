import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import type { GlanceConfig } from '../../../../api-server/src/config/index.js';
import { RemoteRefused } from '../../../../api-server/src/domain/errors.js';
import { answered } from '../domain/helpers.js';
import { StageHosts, StageHostUnavailable } from '../../../../api-server/src/import/stage-host.js';
import { image } from '../domain/helpers.js';

// Distributed import: which worker holds an image's staged data, and the request sent on to it (here a toy
// HTTP server standing in for the other worker).

const log = pino({ level: 'silent' });
const config = (worker: string | null, publicEndpoint: string | null) =>
  ({ DEFAULT: { worker_self_reference_url: worker, public_endpoint: publicEndpoint } }) as GlanceConfig;
const staged = (host?: string) =>
  image({ properties: host === undefined ? {} : { os_glance_stage_host: host } });

describe('StageHosts.holderOf', () => {
  it('names the worker that staged the image when it is another one', () => {
    const here = new StageHosts(config('http://w1:9292', 'http://glance:9292'));
    expect(here.holderOf(staged('http://w2:9292'))).toBe('http://w2:9292');
    expect(here.holderOf(staged('http://w1:9292'))).toBeNull();
    expect(here.holderOf(staged())).toBeNull();
  });

  it('falls back to public_endpoint for its own URL, and proxies anything staged elsewhere without either', () => {
    expect(
      new StageHosts(config(null, 'http://glance:9292')).holderOf(staged('http://glance:9292')),
    ).toBeNull();
    expect(new StageHosts(config(null, null)).holderOf(staged('http://w2:9292'))).toBe('http://w2:9292');
  });
});

describe('StageHosts.proxy', () => {
  let server: Server;
  let base: string;
  const seen: Array<{ method?: string; url?: string; headers: IncomingHttpHeaders; body: string }> = [];
  let answer = { status: 202, requestId: 'req-remote' };

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body });
        res.writeHead(answer.status, { 'x-openstack-request-id': answer.requestId }).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  beforeEach(() => {
    seen.length = 0;
    answer = { status: 202, requestId: 'req-remote' };
  });

  const hosts = new StageHosts(config('http://me:9292', null));

  it("sends the request on with the user's token and body, and answers with the remote's request id", async () => {
    const body = { method: { name: 'glance-direct' } };
    const id = await hosts.proxy(
      base,
      { method: 'POST', path: '/v2/images/abc/import', authToken: 'tok', body },
      log,
    );
    expect(id).toBe('req-remote');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      method: 'POST',
      url: '/v2/images/abc/import',
      body: JSON.stringify(body),
    });
    expect(seen[0]?.headers['x-auth-token']).toBe('tok');
    expect(seen[0]?.headers['content-type']).toBe('application/json');
  });

  it("gives the remote's error status back to the client", async () => {
    answer = { status: 409, requestId: 'req-remote-409' };
    const failed = await hosts
      .proxy(base, { method: 'DELETE', path: '/v2/images/abc', authToken: 'tok' }, log)
      .catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(RemoteRefused);
    expect(failed).not.toBeInstanceOf(StageHostUnavailable);
    expect(answered(failed).status).toBe(409);
    expect(seen[0]).toMatchObject({ method: 'DELETE', body: '' });
  });

  it('answers 504 "Stage host is unavailable" when the worker cannot be reached', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    const failed = await hosts
      .proxy(
        `http://127.0.0.1:${closed}`,
        { method: 'POST', path: '/v2/images/abc/import', authToken: null },
        log,
      )
      .catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(StageHostUnavailable);
    expect(answered(failed).status).toBe(504);
    expect(answered(failed).explanation).toBe('Stage host is unavailable');
  });
});
