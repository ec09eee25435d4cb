import { connect, type AddressInfo, type Socket } from 'node:net';
import { createServer, type Server } from 'node:http';
import express from 'express';
import pino from 'pino';
import { DataLeftUnread, LimitExceeded } from '../../../../api-server/src/domain/errors.js';
import { discardRest } from '../../../../api-server/src/http/discard-body.js';
import { errorHandler } from '../../../../api-server/src/http/error-handler.js';

// A refusal that comes before the client has sent its body, as the quota check on a declared size does.
let server: Server;
let port: number;

beforeAll(async () => {
  const app = express();
  app.put('/refused', () => {
    throw new DataLeftUnread(new LimitExceeded('Image exceeds the storage quota'));
  });
  app.get('/next', (_req, res) => void res.status(200).end('next'));
  app.use(errorHandler(pino({ level: 'silent' })));
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** A raw connection that collects what the server sends and notes when it closes. */
async function open(to = port): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const socket = connect(to, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, received: () => text, closed };
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const write = (socket: Socket, data: string | Buffer): Promise<void> =>
  new Promise((resolve, reject) => socket.write(data, (err) => (err ? reject(err) : resolve())));

describe('a refused upload', () => {
  test('the client that sends its body after the 413 can write all of it and use the connection again', async () => {
    const { socket, received } = await open();
    await write(socket, 'PUT /refused HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\n\r\n');
    await until(() => received().includes('\r\n\r\n'));
    expect(received()).toMatch(/^HTTP\/1\.1 413 /);
    expect(received().toLowerCase()).not.toContain('connection: close');
    await write(socket, Buffer.alloc(2048, 1));
    await write(socket, 'GET /next HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => received().endsWith('next'));
    socket.destroy();
  });

  test('a chunked body is read to its end, and the connection is kept', async () => {
    const { socket, received } = await open();
    await write(socket, 'PUT /refused HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
    await until(() => received().includes('\r\n\r\n'));
    expect(received()).toMatch(/^HTTP\/1\.1 413 /);
    for (let i = 0; i < 3; i += 1) await write(socket, `400\r\n${'a'.repeat(0x400)}\r\n`);
    await write(socket, '0\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => received().endsWith('next'));
    socket.destroy();
  });

  test('a declared body over the bound is not read: the answer says Connection: close and the server closes', async () => {
    const { socket, received, closed } = await open();
    await write(socket, `PUT /refused HTTP/1.1\r\nHost: x\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n`);
    await closed;
    expect(received()).toMatch(/^HTTP\/1\.1 413 /);
    expect(received().toLowerCase()).toContain('connection: close');
  });
});

describe('discardRest bounds', () => {
  let bounded: Server;
  let boundedPort: number;

  beforeAll(async () => {
    bounded = createServer((req, res) => {
      discardRest(req, { bytes: 1000, ms: 300 });
      res.writeHead(413, { 'Content-Length': '0' }).end();
    });
    await new Promise<void>((resolve) => bounded.listen(0, '127.0.0.1', resolve));
    boundedPort = (bounded.address() as AddressInfo).port;
  });

  afterAll(async () => {
    bounded.closeAllConnections();
    await new Promise((resolve) => bounded.close(resolve));
  });

  test('a client that stops sending is disconnected once the time bound passes', async () => {
    const { socket, closed } = await open(boundedPort);
    await write(socket, 'PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n');
    await write(socket, Buffer.alloc(100));
    const started = Date.now();
    await closed;
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  test('a chunked body longer than the byte bound is cut off', async () => {
    const { socket, closed } = await open(boundedPort);
    await write(socket, 'PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
    for (let i = 0; i < 3 && !socket.destroyed; i += 1) {
      await write(socket, `200\r\n${'b'.repeat(0x200)}\r\n`).catch(() => undefined);
    }
    await closed;
  });
});
