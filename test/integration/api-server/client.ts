import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { Persona } from './keystone.js';

// Thin HTTP helpers: every call is a real request to the server under test.

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body when it is JSON, else undefined. */
  json: unknown;
}

export interface CallOptions {
  body?: unknown;
  /** Sent as is instead of JSON. */
  raw?: Uint8Array | string | ReadableStream<Uint8Array>;
  headers?: Record<string, string>;
}

export function client(base: string) {
  return async function call(
    who: Persona | null,
    method: string,
    path: string,
    opts: CallOptions = {},
  ): Promise<Reply> {
    const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
    if (who) headers['X-Auth-Token'] = who.token;
    let body: Uint8Array | string | ReadableStream<Uint8Array> | undefined = opts.raw;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['Content-Type'] ??= 'application/json';
    }
    const res = await fetch(`${base}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body, duplex: 'half' }),
    } as RequestInit);
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  };
}

export function md5(data: Uint8Array): string {
  return createHash('md5').update(data).digest('hex');
}

export function sha512(data: Uint8Array): string {
  return createHash('sha512').update(data).digest('hex');
}

/** A body that arrives in `chunks` pieces, `delayMs` apart (sent chunked: no Content-Length). */
export function slowBody(data: Uint8Array, chunks: number, delayMs: number): ReadableStream<Uint8Array> {
  const size = Math.ceil(data.length / chunks);
  let i = 0;
  return new ReadableStream({
    async pull(controller) {
      if (i > 0) await new Promise((r) => setTimeout(r, delayMs));
      const piece = data.subarray(i * size, (i + 1) * size);
      i += 1;
      if (piece.length > 0) controller.enqueue(piece);
      if (i * size >= data.length) controller.close();
    },
  });
}

/**
 * Starts an upload announcing `declared` bytes, sends only `send` of them, then drops the connection, as a
 * client that dies mid-upload does.
 */
export function abortedUpload(
  base: string,
  who: Persona,
  imageId: string,
  declared: number,
  send: Uint8Array,
): Promise<void> {
  return new Promise((resolve) => {
    const req = httpRequest(`${base}/v2/images/${imageId}/file`, {
      method: 'PUT',
      headers: {
        'X-Auth-Token': who.token,
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(declared),
      },
    });
    req.on('error', () => resolve());
    req.write(send, () => {
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 300);
    });
  });
}

/** A raw request whose headers we control completely (fetch would refuse some of them). */
export function rawRequest(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; headers: Headers; text: string }> {
  return new Promise((resolve, reject) => {
    const length = body === undefined ? {} : { 'Content-Length': String(Buffer.byteLength(body)) };
    const req = httpRequest(`${base}${path}`, { method, headers: { ...length, ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        const out = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          for (const v of Array.isArray(value) ? value : [value ?? '']) out.append(name, v);
        }
        resolve({ status: res.statusCode ?? 0, headers: out, text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
