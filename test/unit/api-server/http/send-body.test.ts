import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import http, { type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sendBody } from '../../../../api-server/src/http/send-body.js';
import { FileStore } from '../../../../api-server/src/store/file-store.js';

const ID = '7b7f3d0e-5a55-4f43-9e0c-3c1f9ad0c001';
// Larger than a loopback socket buffer, so the transfer has to wait for the client at least once.
const DATA = randomBytes(24 * 1024 * 1024 + 12345);

let root: string;
let store: FileStore;
let location: string;
let server: Server;
let base: string;
let failures: unknown[];

interface Got {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function get(agent: http.Agent, pathname: string, headers: Record<string, string> = {}): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}${pathname}`, { agent, headers }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', reject);
  });
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'send-body-'));
  store = new FileStore({ datadir: root });
  await writeFile(path.join(root, ID), DATA);
  location = `file://${root}/${ID}`;
  failures = [];
  // The route's way of serving: status and Content-Length first, then the store's stream as the body.
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const start = Number(url.searchParams.get('start') ?? 0);
    const end = Number(url.searchParams.get('end') ?? DATA.length - 1);
    const length = Number(url.searchParams.get('length') ?? end - start + 1);
    const ranged = url.searchParams.has('start');
    void (async () => {
      const data = await store.get(location, ranged ? { start, end } : undefined);
      res.statusCode = ranged ? 206 : 200;
      res.setHeader('Content-Type', 'application/octet-stream');
      res.setHeader('Content-Length', String(length));
      try {
        await sendBody(res, data);
      } catch (err) {
        failures.push(err);
        res.destroy();
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(root, { recursive: true, force: true });
});

// With the addon built these exercise the sendfile path, without it the streamed one; both must behave the same.
describe('sendBody', () => {
  it('sends a whole image file byte for byte, twice over one kept-alive connection', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await get(agent, '/');
      const second = await get(agent, '/');
      for (const got of [first, second]) {
        expect(got.status).toBe(200);
        expect(got.body.length).toBe(DATA.length);
        expect(got.body.equals(DATA)).toBe(true);
      }
    } finally {
      agent.destroy();
    }
    expect(failures).toEqual([]);
  });

  it('sends exactly the requested range, then answers the next request on the connection', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const ranged = await get(agent, '/?start=1000&end=5000999');
      expect(ranged.status).toBe(206);
      expect(ranged.body.equals(DATA.subarray(1000, 5001000))).toBe(true);
      const tiny = await get(agent, '/?start=7&end=7');
      expect(tiny.body.equals(DATA.subarray(7, 8))).toBe(true);
    } finally {
      agent.destroy();
    }
    expect(failures).toEqual([]);
  });

  it('answers HEAD without a body', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const head = await new Promise<IncomingMessage>((resolve, reject) => {
        http.request(`${base}/`, { method: 'HEAD', agent }, resolve).on('error', reject).end();
      });
      expect(head.headers['content-length']).toBe(String(DATA.length));
      head.resume();
      // The connection still carries a complete, correct response afterwards.
      const after = await get(agent, '/?start=0&end=99');
      expect(after.body.equals(DATA.subarray(0, 100))).toBe(true);
    } finally {
      agent.destroy();
    }
  });

  it('drops the connection instead of sending a short body when the file is shorter than announced', async () => {
    const agent = new http.Agent({ keepAlive: false });
    failures = [];
    await expect(get(agent, `/?length=${DATA.length + 4096}`)).rejects.toThrow();
    expect(failures).toHaveLength(1);
  });

  it('keeps serving after a client that went away mid-download', async () => {
    await new Promise<void>((resolve, reject) => {
      const req = http.get(`${base}/`, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? undefined : reject(err)));
    });
    const agent = new http.Agent({ keepAlive: false });
    const got = await get(agent, '/?start=0&end=1048575');
    expect(got.body.equals(DATA.subarray(0, 1048576))).toBe(true);
  });

  it('sends an empty file as an empty body', async () => {
    const empty = '7b7f3d0e-5a55-4f43-9e0c-3c1f9ad0c002';
    await writeFile(path.join(root, empty), DATA.subarray(0, 10));
    await truncate(path.join(root, empty), 0);
    const data = await store.get(`file://${root}/${empty}`);
    const local = http.createServer((_req, res) => {
      res.setHeader('Content-Length', '0');
      void sendBody(res, data);
    });
    await new Promise<void>((resolve) => local.listen(0, '127.0.0.1', resolve));
    try {
      const port = (local.address() as AddressInfo).port;
      const got = await new Promise<Got>((resolve, reject) => {
        http
          .get(`http://127.0.0.1:${port}/`, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
            );
          })
          .on('error', reject);
      });
      expect(got.status).toBe(200);
      expect(got.body.length).toBe(0);
    } finally {
      local.closeAllConnections();
      await new Promise((resolve) => local.close(resolve));
    }
  });
});
