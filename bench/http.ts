import http from 'node:http';
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

/** A GET whose body is counted and dropped as it arrives, like a client writing it to disk would not. */
export function drain(url: string, headers: Record<string, string>, timeoutMs: number): Promise<Drained> {
  return new Promise<Drained>((resolve, reject) => {
    const req = http.get(url, { headers, agent, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      let bytes = 0;
      const errorChunks: Buffer[] = [];
      const ok = res.statusCode === 200;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (!ok) errorChunks.push(chunk);
      });
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          bytes,
          errorText: Buffer.concat(errorChunks).toString('utf8').slice(0, 500),
        }),
      );
    });
    req.on('error', reject);
  });
}
