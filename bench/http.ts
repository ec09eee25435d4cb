import http from 'node:http';
import net from 'node:net';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';

// One keep-alive agent for control requests (create, show, delete, list), as a real client library keeps one.
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface SendOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Readable;
  timeoutMs?: number;
}

/** One request; the whole (small) response body is collected. A streamed body is piped, never buffered. */
export function send(url: string, opts: SendOptions = {}): Promise<Reply> {
  return new Promise<Reply>((resolve, reject) => {
    // A server refusing an upload half-way answers and closes: its answer, not the broken pipe, is the result.
    let responded = false;
    const fail = (err: unknown): void => {
      if (!responded) reject(err as Error);
    };
    const req = http.request(
      url,
      {
        method: opts.method ?? 'GET',
        headers: opts.headers,
        agent,
        signal: AbortSignal.timeout(opts.timeoutMs ?? 60_000),
      },
      (res) => {
        responded = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', fail);
    const body = opts.body;
    if (body === undefined || typeof body === 'string') req.end(body);
    else pipeline(body, req).catch(fail);
  });
}

export interface Drained {
  status: number;
  headers: http.IncomingHttpHeaders;
  bytes: number;
  /** The body when the status is not 200 (an error page), for the message. */
  errorText: string;
}

// One buffer for the whole process, reused by every read of a cheap reader's socket.
const READ_BUFFER_BYTES = 1024 * 1024;
let readBuffer: Buffer | null = null;
const HEAD_LIMIT = 64 * 1024;

/**
 * A TCP connection whose incoming bytes the kernel copies into one reused buffer (net's `onread`): `onData` sees
 * each read as a view of that buffer, valid only during the call; returning false pauses the socket.
 */
export function cheapReader(
  options: { host: string; port: number },
  onData: (chunk: Buffer) => boolean,
): net.Socket {
  readBuffer ??= Buffer.allocUnsafe(READ_BUFFER_BYTES);
  return net.connect({
    ...options,
    onread: {
      buffer: () => readBuffer!,
      callback: (n: number, buf: Uint8Array): boolean => onData(Buffer.from(buf.buffer, buf.byteOffset, n)),
    },
  });
}

/**
 * A GET whose body is counted and dropped as it arrives. It measures the server, so it must not be the bottleneck:
 * Node's HTTP client allocates a Buffer and runs its parser and stream machinery for every 64 KiB read, ~2 CPU-s
 * per GiB, and capped downloads near 300 MiB/s on this machine while curl took 1 GiB in about a second. This
 * reader asks for `Connection: close` on a socket of its own, parses the head itself and lets the kernel fill one
 * reused buffer (cheapReader), so the body costs little more than the read(2) calls.
 */
export function drain(url: string, headers: Record<string, string>, timeoutMs: number): Promise<Drained> {
  const target = new URL(url);
  if (target.protocol !== 'http:') throw new Error(`drain() reads plain http only: ${url}`);
  return new Promise<Drained>((resolve, reject) => {
    let head: Buffer | null = Buffer.alloc(0);
    let reply: Omit<Drained, 'bytes' | 'errorText'> | null = null;
    let expected: number | null = null;
    let bytes = 0;
    const errorChunks: Buffer[] = [];
    let settled = false;
    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (err) reject(err);
      else if (reply === null) reject(new Error(`${url}: the connection closed before a response head`));
      else if (expected !== null && bytes !== expected) {
        reject(new Error(`${url}: the body ended after ${bytes} of ${expected} bytes`));
      } else {
        const errorText = Buffer.concat(errorChunks).toString('utf8').slice(0, 500);
        resolve({ ...reply, bytes, errorText });
      }
    };
    const body = (chunk: Buffer): void => {
      bytes += chunk.length;
      if (reply?.status !== 200 && errorChunks.length < 64) errorChunks.push(Buffer.from(chunk));
      if (expected !== null && bytes >= expected) finish(null);
    };
    const socket = cheapReader({ host: target.hostname, port: Number(target.port || 80) }, (chunk) => {
      if (head === null) {
        body(chunk);
        return true;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > HEAD_LIMIT) finish(new Error(`${url}: response head over ${HEAD_LIMIT} bytes`));
        return true;
      }
      try {
        reply = parseHead(head.subarray(0, end).toString('latin1'));
      } catch (err) {
        finish(err as Error);
        return false;
      }
      const length = reply.headers['content-length'];
      expected = length === undefined ? null : Number(length);
      const rest = head.subarray(end + 4);
      head = null;
      if (rest.length > 0 || expected === 0) body(rest);
      return true;
    });
    socket.setTimeout(timeoutMs, () => finish(new Error(`${url}: no data for ${timeoutMs} ms`)));
    socket.on('error', (err) => finish(err));
    // Without Content-Length (a chunked error page, say) the body is whatever arrives before the server closes.
    socket.on('close', () => finish(null));
    const lines = [
      `GET ${target.pathname}${target.search} HTTP/1.1`,
      `Host: ${target.host}`,
      'Connection: close',
    ];
    for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  });
}

/** Status and headers (lower-cased names, as Node's client gives them) of an HTTP/1.1 response head. */
function parseHead(text: string): { status: number; headers: http.IncomingHttpHeaders } {
  const [statusLine = '', ...fields] = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!m) throw new Error(`not an HTTP/1.1 response: ${statusLine.slice(0, 100)}`);
  const headers: http.IncomingHttpHeaders = {};
  for (const field of fields) {
    const colon = field.indexOf(':');
    if (colon > 0) headers[field.slice(0, colon).trim().toLowerCase()] = field.slice(colon + 1).trim();
  }
  return { status: Number(m[1]), headers };
}
