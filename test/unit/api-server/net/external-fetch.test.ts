import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { text } from 'node:stream/consumers';
import { openExternal, FetchFailed } from '../../../../api-server/src/net/external-fetch.js';
import type { Resolve } from '../../../../api-server/src/net/destination.js';
import type { ImportFiltering } from '../../../../api-server/src/net/uri-filter.js';

// Downloads from a local HTTP server that answers with data or with redirects. 127.0.0.1 is a loopback
// address, so it is reachable only when named in allowed_hosts (as the stack does for Tempest's http_image);
// every redirect target is judged again before anything connects to it.

let server: Server;
let port = 0;
const seen: string[] = [];
const tokens: Array<string | undefined> = [];

const ROUTES: Record<string, (res: ServerResponse) => void> = {
  '/image': (res) => res.writeHead(200, { 'Content-Length': '5' }).end('hello'),
  '/missing': (res) => res.writeHead(404).end(),
  '/to-image': (res) => res.writeHead(302, { Location: '/image' }).end(),
  '/to-metadata': (res) => res.writeHead(301, { Location: 'http://169.254.169.254/latest/meta-data/' }).end(),
  '/to-private': (res) => res.writeHead(307, { Location: 'http://10.0.0.1/image' }).end(),
  '/to-localhost': (res) => res.writeHead(308, { Location: `http://localhost:${port}/image` }).end(),
  '/to-name': (res) => res.writeHead(303, { Location: `http://files.example.com:${port}/image` }).end(),
  '/to-other-port': (res) => res.writeHead(302, { Location: `http://127.0.0.1:${port + 1}/image` }).end(),
  '/loop': (res) => res.writeHead(302, { Location: '/loop' }).end(),
};

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.url ?? '');
    tokens.push(req.headers['x-auth-token'] as string | undefined);
    const handler = ROUTES[req.url ?? ''];
    if (handler) handler(res);
    else res.writeHead(500).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen.length = 0;
  tokens.length = 0;
});

const noDns: Resolve = (host) => Promise.reject(new Error(`no DNS in this test: ${host}`));

function options(filtering: Partial<ImportFiltering> = {}, resolve: Resolve = noDns) {
  return {
    filtering: {
      allowed_schemes: ['http', 'https'],
      disallowed_schemes: [],
      allowed_hosts: ['127.0.0.1'],
      disallowed_hosts: [],
      allowed_ports: [80, 443, port],
      disallowed_ports: [],
      ...filtering,
    },
    resolve,
    idleTimeoutMs: 5_000,
  };
}

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof FetchFailed) return err.message;
    throw err;
  }
  throw new Error('the download was not refused');
}

describe('openExternal', () => {
  it('reads the data of an allowed URI, with its Content-Length', async () => {
    const data = await openExternal(`http://127.0.0.1:${port}/image`, options());
    expect(data.contentLength).toBe(5);
    expect(await text(data.body)).toBe('hello');
  });

  it('follows a redirect to an allowed place', async () => {
    const data = await openExternal(`http://127.0.0.1:${port}/to-image`, options());
    expect(await text(data.body)).toBe('hello');
    expect(seen).toEqual(['/to-image', '/image']);
  });

  it('never connects when the loopback address is not explicitly allowed', async () => {
    const message = await failure(
      openExternal(`http://127.0.0.1:${port}/image`, options({ allowed_hosts: [] })),
    );
    expect(message).toBe(`URI does not pass filtering: http://127.0.0.1:${port}/image`);
    expect(seen).toEqual([]);
  });

  it.each([
    ['/to-metadata', 'http://169.254.169.254/latest/meta-data/'],
    ['/to-private', 'http://10.0.0.1/image'],
    ['/to-localhost', 'http://localhost:PORT/image'],
    ['/to-other-port', 'http://127.0.0.1:OTHER/image'],
  ])('refuses the redirect of %s to %s', async (path, target) => {
    const message = await failure(openExternal(`http://127.0.0.1:${port}${path}`, options()));
    const expected = target.replace('PORT', String(port)).replace('OTHER', String(port + 1));
    expect(message).toBe(`Redirect to disallowed URL: ${expected}`);
    expect(seen).toEqual([path]);
  });

  it('follows a redirect to a host name that is explicitly allowed, pinned to its resolved address', async () => {
    const resolveToLoopback: Resolve = () => Promise.resolve([{ address: '127.0.0.1', family: 4 }]);
    const trusted = options({ allowed_hosts: ['127.0.0.1', 'files.example.com'] }, resolveToLoopback);
    const data = await openExternal(`http://127.0.0.1:${port}/to-name`, trusted);
    expect(await text(data.body)).toBe('hello');
    expect(seen).toEqual(['/to-name', '/image']);
  });

  it("sends the caller's headers along a redirect on the same origin only", async () => {
    const resolveToLoopback: Resolve = () => Promise.resolve([{ address: '127.0.0.1', family: 4 }]);
    const trusted = options({ allowed_hosts: ['127.0.0.1', 'files.example.com'] }, resolveToLoopback);
    const headers = { 'X-Auth-Token': 'user-token' };
    await text((await openExternal(`http://127.0.0.1:${port}/to-image`, { ...trusted, headers })).body);
    await text((await openExternal(`http://127.0.0.1:${port}/to-name`, { ...trusted, headers })).body);
    expect(seen).toEqual(['/to-image', '/image', '/to-name', '/image']);
    expect(tokens).toEqual(['user-token', 'user-token', 'user-token', undefined]);
  });

  it('refuses a host name that resolves to a loopback address without connecting', async () => {
    const resolveToLoopback: Resolve = () => Promise.resolve([{ address: '127.0.0.1', family: 4 }]);
    const message = await failure(
      openExternal(
        `http://files.example.com:${port}/image`,
        options({ allowed_hosts: [] }, resolveToLoopback),
      ),
    );
    expect(message).toBe(`URI does not pass filtering: http://files.example.com:${port}/image`);
    expect(seen).toEqual([]);
  });

  it('gives up after ten redirects', async () => {
    const message = await failure(openExternal(`http://127.0.0.1:${port}/loop`, options()));
    expect(message).toBe(`Too many redirects fetching http://127.0.0.1:${port}/loop`);
    expect(seen).toHaveLength(11);
  });

  it('reports an HTTP error as the reason', async () => {
    const message = await failure(openExternal(`http://127.0.0.1:${port}/missing`, options()));
    expect(message).toBe(`HTTP Error 404: Not Found fetching http://127.0.0.1:${port}/missing`);
  });
});
