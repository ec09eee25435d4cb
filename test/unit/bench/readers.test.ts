import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { catFile } from '../../../bench/baselines.js';
import { drain } from '../../../bench/http.js';

// The benchmark's cheap readers must count exactly what arrives: a download's byte count is its check.

let server: http.Server | net.Server | null = null;

async function listen(s: http.Server | net.Server): Promise<string> {
  server = s;
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  return `http://127.0.0.1:${(s.address() as net.AddressInfo).port}`;
}

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = null;
});

describe('drain', () => {
  it('counts a body sent in uneven pieces and returns the status and headers', async () => {
    const body = randomBytes(3 * 1024 * 1024 + 17);
    let requestHeaders: http.IncomingHttpHeaders = {};
    const base = await listen(
      http.createServer((req, res) => {
        requestHeaders = req.headers;
        res.writeHead(200, { 'Content-Length': body.length, 'Content-MD5': 'abc' });
        for (let offset = 0; offset < body.length; offset += 100_003) {
          res.write(body.subarray(offset, offset + 100_003));
        }
        res.end();
      }),
    );
    const got = await drain(`${base}/v2/images/x/file?a=1`, { 'X-Auth-Token': 'tok' }, 10_000);
    expect(got).toMatchObject({ status: 200, bytes: body.length, errorText: '' });
    expect(got.headers['content-md5']).toBe('abc');
    expect(requestHeaders['x-auth-token']).toBe('tok');
  });

  it('keeps the text of an error answer', async () => {
    const base = await listen(
      http.createServer((_req, res) => {
        res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': 9 });
        res.end('not found');
      }),
    );
    await expect(drain(`${base}/nothing`, {}, 10_000)).resolves.toMatchObject({
      status: 404,
      bytes: 9,
      errorText: 'not found',
    });
  });

  it('fails when the connection closes before the announced length', async () => {
    const base = await listen(
      net.createServer((socket) => {
        socket.once('data', () => {
          socket.end('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly this');
        });
      }),
    );
    await expect(drain(`${base}/short`, {}, 10_000)).rejects.toThrow(/after 9 of 1000 bytes/);
  });
});

describe('catFile', () => {
  it('reads every byte cat writes', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bench-cat-'));
    try {
      const file = path.join(dir, 'data');
      await writeFile(file, randomBytes(2 * 1024 * 1024 + 5));
      await expect(catFile(file)).resolves.toMatchObject({ bytes: 2 * 1024 * 1024 + 5 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails for a file cat cannot read', async () => {
    await expect(catFile('/nonexistent/h4-file')).rejects.toThrow(/cat .*: exit 1/);
  });
});
