import type { AddressInfo } from 'node:net';
import { createServer, request as httpRequest, type Server } from 'node:http';
import express from 'express';
import pino from 'pino';
import { errorHandler } from '../../../../api-server/src/http/error-handler.js';
import { HttpError } from '../../../../api-server/src/http/errors.js';
import { requireJson } from '../../../../api-server/src/http/json-body.js';
import { assignRequestId, openstackRequestId } from '../../../../api-server/src/http/request-id.js';
import { sendJson } from '../../../../api-server/src/http/respond.js';
import { route } from '../../../../api-server/src/http/routing.js';
import { versionNegotiation } from '../../../../api-server/src/http/versions.js';
import { healthcheck } from '../../../../api-server/src/http/healthcheck.js';
import { onClientError } from '../../../../api-server/src/http/client-error.js';

// The framing pieces assembled the way createApp assembles them, around two toy routes.
const logger = pino({ level: 'silent' });
let server: Server;
let base: string;

beforeAll(async () => {
  const app = express();
  app.set('strict routing', true);
  app.set('case sensitive routing', true);
  app.use(assignRequestId(logger));
  app.all('/healthcheck', healthcheck(null));
  app.use(versionNegotiation({ publicEndpoint: null, cacheEnabled: false, multistore: false }));
  app.use(openstackRequestId(64));
  const router = express.Router({ strict: true, caseSensitive: true });
  route(router, '/v2/things', 'GET, POST', {
    GET: { bodyReject: true, handler: (_req, res) => sendJson(res, 200, { things: [] }) },
    POST: { handler: async (req, res) => sendJson(res, 201, { got: await requireJson(req, 64) }) },
  });
  route(router, '/v2/things/:id', 'DELETE', {
    DELETE: { bodyReject: true, handler: (_req, res) => void res.status(204).end() },
  });
  app.use(router);
  app.use((req, _res, next) =>
    next(new HttpError(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD'].includes(req.method) ? 404 : 501)),
  );
  app.use(errorHandler(logger));
  server = createServer({ maxHeaderSize: 4096 }, app);
  server.on('clientError', onClientError(logger));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const json = { Accept: 'application/json' };

describe('versions', () => {
  test('GET / is 300 with the version list and no request id', async () => {
    const res = await fetch(`${base}/`, { headers: json });
    expect(res.status).toBe(300);
    expect(res.headers.get('x-openstack-request-id')).toBeNull();
    const body = (await res.json()) as {
      versions: { id: string; status: string; links: { href: string }[] }[];
    };
    expect(body.versions.map((v) => v.id)).toEqual([
      'v2.15',
      'v2.9',
      'v2.7',
      'v2.6',
      'v2.5',
      'v2.4',
      'v2.3',
      'v2.2',
      'v2.1',
      'v2.0',
    ]);
    expect(body.versions[0]).toEqual({
      id: 'v2.15',
      status: 'CURRENT',
      links: [{ rel: 'self', href: `${base}/v2/` }],
    });
  });

  test('GET /versions is 200, unknown version prefixes are 300', async () => {
    expect((await fetch(`${base}/versions`)).status).toBe(200);
    expect((await fetch(`${base}/v1/images`)).status).toBe(300);
    expect((await fetch(`${base}/v3`)).status).toBe(300);
    expect((await fetch(`${base}/v2.8/things`)).status).toBe(300);
  });

  test('known minor versions and the vnd Accept type reach the v2 routes', async () => {
    expect((await fetch(`${base}/v2.1/things`)).status).toBe(200);
    expect((await fetch(`${base}/v2.15/things`)).status).toBe(200);
    const res = await fetch(`${base}/things`, {
      headers: { Accept: 'application/vnd.openstack.images-v2.0' },
    });
    expect(res.status).toBe(200);
  });
});

describe('routing and errors', () => {
  test('a v2 response carries a fresh req-<uuid> id, or the client id with req- prefixed', async () => {
    const fresh = await fetch(`${base}/v2/things`);
    expect(fresh.headers.get('x-openstack-request-id')).toMatch(/^req-[0-9a-f-]{36}$/);
    const given = await fetch(`${base}/v2/things`, { headers: { 'X-Openstack-Request-ID': 'abc-123' } });
    expect(given.headers.get('x-openstack-request-id')).toBe('req-abc-123');
    const kept = await fetch(`${base}/v2/things`, { headers: { 'X-Openstack-Request-ID': 'req-xyz' } });
    expect(kept.headers.get('x-openstack-request-id')).toBe('req-xyz');
  });

  test('an over-long client request id is a 431', async () => {
    const res = await fetch(`${base}/v2/things`, {
      headers: { ...json, 'X-Openstack-Request-ID': 'x'.repeat(65) },
    });
    expect(res.status).toBe(431);
    expect(res.headers.get('x-openstack-request-id')).toMatch(/^req-[0-9a-f-]{36}$/);
  });

  test('an unsupported method on a known path is 405 with Allow, HEAD included', async () => {
    const put = await fetch(`${base}/v2/things`, { method: 'PUT', headers: json });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, POST');
    expect(((await put.json()) as { message: string }).message).toBe(
      'The method PUT is not allowed for this resource. <br /><br />\n',
    );
    const head = await fetch(`${base}/v2/things`, { method: 'HEAD' });
    expect(head.status).toBe(405);
  });

  test('unknown paths are 404 (a trailing slash or another case too); unknown methods 501', async () => {
    for (const path of ['/v2/nothing', '/v2/things/', '/v2/THINGS', '/v2']) {
      expect((await fetch(`${base}${path}`)).status).toBe(404);
    }
    expect((await fetch(`${base}/v2/nothing`, { method: 'PROPFIND' })).status).toBe(501);
  });

  test('errors follow Accept: JSON, plain text by default', async () => {
    const asJson = await fetch(`${base}/v2/nothing`, { headers: json });
    expect(asJson.headers.get('content-type')).toBe('application/json');
    expect(await asJson.json()).toEqual({
      message: 'The resource could not be found.<br /><br />\n\n\n',
      code: '404 Not Found',
      title: 'Not Found',
    });
    const plain = await fetch(`${base}/v2/nothing`, { headers: { Accept: '' } });
    expect(plain.headers.get('content-type')).toBe('text/plain; charset=UTF-8');
    expect(await plain.text()).toBe('404 Not Found\n\nThe resource could not be found.\n\n   ');
  });

  test('body_reject routes refuse a body with 400', async () => {
    const res = await fetch(`${base}/v2/things/1`, { method: 'DELETE', body: 'x', headers: json });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/^A body is not expected/);
  });

  test('malformed JSON, scalar JSON, bad UTF-8 and a missing body are 400s', async () => {
    const post = (body: string | Uint8Array | undefined) =>
      fetch(`${base}/v2/things`, { method: 'POST', body, headers: json });
    const message = async (res: Response) => ((await res.json()) as { message: string }).message;
    let res = await post('{"a":');
    expect(res.status).toBe(400);
    expect(await message(res)).toMatch(/^Malformed JSON in request body\./);
    res = await post('"just a string"');
    expect(await message(res)).toMatch(/^Unexpected body type\. Expected list\/dict\./);
    res = await post(new Uint8Array([0x7b, 0xff, 0x7d]));
    expect(await message(res)).toMatch(/^Error decoding your request/);
    res = await post(undefined);
    expect(await message(res)).toMatch(/^Body expected in request\./);
    res = await post('{"a": [1, 2]}');
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ got: { a: [1, 2] } });
  });

  test('a JSON body past the limit is 413, declared or streamed', async () => {
    const big = JSON.stringify({ a: 'x'.repeat(100) });
    const declared = await fetch(`${base}/v2/things`, { method: 'POST', body: big, headers: json });
    expect(declared.status).toBe(413);
    const streamed = await fetch(`${base}/v2/things`, {
      method: 'POST',
      headers: json,
      body: new Blob([big]).stream(),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
  });
});

describe('Node-level limits', () => {
  test('headers past maxHeaderSize get a complete 431 and the connection closes', async () => {
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${base}/v2/things`, { headers: { 'X-Big': 'y'.repeat(8000) } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(answer.status).toBe(431);
    expect(answer.body).toBe(
      '431 Request Header Fields Too Large\n\nThe request header fields were too large\n\n   ',
    );
  });
});

describe('healthcheck', () => {
  test('answers OK without a token, in text or JSON; HEAD is 204', async () => {
    const text = await fetch(`${base}/healthcheck`);
    expect(text.status).toBe(200);
    expect(await text.text()).toBe('OK');
    const asJson = await fetch(`${base}/healthcheck`, { headers: json });
    expect(await asJson.json()).toEqual({ detailed: false, reasons: ['OK'] });
    expect((await fetch(`${base}/healthcheck`, { method: 'HEAD' })).status).toBe(204);
  });
});
