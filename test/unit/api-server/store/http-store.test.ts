import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { StoreError } from '../../../../api-server/src/store/errors.js';
import { formatHttpLocation, parseHttpLocation } from '../../../../api-server/src/store/http-location.js';
import { HttpStore } from '../../../../api-server/src/store/http-store.js';

const DATA = randomBytes(300_000);
let server: Server;
let base: string;
const seen: { method: string; auth: string | undefined; range: string | undefined }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', auth: req.headers.authorization, range: req.headers.range });
    const url = req.url ?? '';
    if (url.startsWith('/redirect/')) {
      const hops = Number(url.split('/')[2]);
      res.writeHead(302, { Location: hops > 0 ? `/redirect/${hops - 1}` : '/image' }).end();
    } else if (url === '/see-other') res.writeHead(303, { Location: '/image' }).end();
    else if (url === '/broken') res.writeHead(500).end('boom');
    else if (url === '/to-metadata') {
      res.writeHead(302, { Location: 'http://169.254.169.254/latest/meta-data/' }).end();
    } else if (url === '/stalls') {
      // Headers, half the data, then nothing more.
      res.writeHead(200, { 'Content-Length': String(DATA.length) });
      res.write(DATA.subarray(0, 1000));
    } else if (url.startsWith('/image')) {
      // Ranges are ignored, as many plain file servers do: the store must cut the bytes itself.
      res.writeHead(200, { 'Content-Length': String(DATA.length) });
      res.end(req.method === 'HEAD' ? undefined : DATA);
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

// The test server is on loopback, which the import filter refuses unless it is allowed by name.
const FILTERING = {
  allowed_schemes: ['http', 'https'],
  disallowed_schemes: [],
  allowed_hosts: ['127.0.0.1'],
  disallowed_hosts: [],
  allowed_ports: [],
  disallowed_ports: [],
};
const store = new HttpStore({
  https_insecure: true,
  https_ca_certificates_file: null,
  filtering: FILTERING,
  idleTimeoutMs: 500,
});

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function storeError(promise: Promise<unknown>): Promise<StoreError> {
  const err = await promise.then(
    () => new Error('expected a StoreError'),
    (e: unknown) => e,
  );
  if (!(err instanceof StoreError)) throw err;
  return err;
}

describe('parseHttpLocation', () => {
  it('reads credentials, port, path and query as glance_store does', () => {
    const loc = parseHttpLocation('https://joe:s3cret@example.com:8443/a/b.img?x=1#frag');
    expect(loc).toEqual({
      scheme: 'https',
      netloc: 'example.com:8443',
      user: 'joe',
      password: 's3cret',
      path: '/a/b.img',
      query: 'x=1',
    });
    expect(formatHttpLocation(loc)).toBe('https://joe:s3cret@example.com:8443/a/b.img?x=1');
  });

  it('refuses other schemes, missing hosts, bad ports and credentials without a password', () => {
    for (const uri of [
      'ftp://example.com/x',
      'http:///x',
      'http://example.com:http/x',
      'http://joe@example.com/x',
    ]) {
      expect(() => parseHttpLocation(uri)).toThrow(StoreError);
    }
  });
});

describe('HttpStore', () => {
  it('learns the size with HEAD and streams the data, following 301/302 redirects', async () => {
    expect(await store.size(`${base}/redirect/2`)).toBe(DATA.length);
    expect((await readAll(await store.get(`${base}/redirect/1`))).equals(DATA)).toBe(true);
    expect(seen.some((s) => s.method === 'HEAD')).toBe(true);
  });

  it('serves a byte range even from a server that ignores Range', async () => {
    const part = await readAll(await store.get(`${base}/image`, { start: 70_000, end: 200_000 }));
    expect(part.equals(DATA.subarray(70_000, 200_001))).toBe(true);
    expect(seen.at(-1)?.range).toBe('bytes=70000-200000');
  });

  it('sends the credentials of the location as basic auth', async () => {
    await store.size(`http://joe:pw@${base.slice('http://'.length)}/image`);
    expect(seen.at(-1)?.auth).toBe(`Basic ${Buffer.from('joe:pw').toString('base64')}`);
  });

  it('reports missing data, errors, bad redirects and endless redirects as glance_store does', async () => {
    expect((await storeError(store.size(`${base}/nothing`))).kind).toBe('not-found');
    expect((await storeError(store.size(`${base}/broken`))).message).toBe(
      'HTTP URL /broken returned a 500 status code.',
    );
    expect((await storeError(store.size(`${base}/see-other`))).kind).toBe('bad-location');
    expect((await storeError(store.size(`${base}/redirect/9`))).message).toBe(
      'The HTTP URL exceeded 5 maximum redirects.',
    );
    expect((await storeError(store.get('http://127.0.0.1:1/x'))).kind).toBe('unavailable');
  });

  it('judges every hop by the import filter: a location cannot redirect to an address it refuses', async () => {
    const err = await storeError(store.size(`${base}/to-metadata`));
    expect(err.kind).toBe('bad-location');
    expect(err.message).toContain(
      'host not allowed for external URI: http://169.254.169.254/latest/meta-data/',
    );
    expect((await storeError(store.get(`${base}/to-metadata`))).kind).toBe('unavailable');
    const strict = new HttpStore({
      https_insecure: true,
      https_ca_certificates_file: null,
      filtering: { ...FILTERING, allowed_hosts: [] },
    });
    expect((await storeError(strict.size(`${base}/image`))).message).toContain(
      '127.0.0.1 is a loopback address',
    );
  });

  it('fails a download whose server stops sending, rather than waiting for ever', async () => {
    const body = await store.get(`${base}/stalls`);
    await expect(readAll(body)).rejects.toThrow('no data from 127.0.0.1 for 0.5 s');
  });

  it('refuses writes and never deletes the remote data', async () => {
    const err = await storeError(store.add('id', Readable.from([Buffer.from('x')])));
    expect(err.kind).toBe('add-disabled');
    await store.delete(`${base}/image`);
    expect(await store.size(`${base}/image`)).toBe(DATA.length);
  });
});
