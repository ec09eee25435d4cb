import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Handler = (req: IncomingMessage, res: ServerResponse, hit: number) => void;

/**
 * The HTTP server test images are served from, on loopback unless told otherwise (pods in a kind cluster reach
 * it at the host's address); it logs each request's path and Range header.
 */
export class SourceServer {
  readonly log: Array<{ path: string; range: string }> = [];
  private readonly routes = new Map<string, Handler>();
  private server: Server | undefined;
  port = 0;

  constructor(
    private readonly bind = '127.0.0.1',
    private readonly advertised = bind,
  ) {}

  route(path: string, handler: Handler): string {
    this.routes.set(path, handler);
    return this.url(path);
  }

  url(path: string): string {
    return `http://${this.advertised}:${this.port}${path}`;
  }

  requests(path: string): string[] {
    return this.log.filter((r) => r.path === path).map((r) => r.range);
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      const path = req.url ?? '';
      this.log.push({ path, range: req.headers.range ?? '' });
      const handler = this.routes.get(path);
      if (handler) handler(req, res, this.requests(path).length);
      else res.writeHead(404).end('not found');
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, this.bind, resolve));
    this.port = (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

export interface ServeOptions {
  /** Honour Range requests (default true). */
  ranges?: boolean;
  /** On the first request, send this many bytes and then drop the connection. */
  dropFirstAt?: number;
  /** On the first request, send this many bytes and then wait for `gate` before the rest. */
  holdAt?: number;
  gate?: Promise<void>;
}

/** Serves `body` like a static file server: Content-Length, a strong ETag, and (optionally) byte ranges. */
export function serveBytes(body: Buffer, opts: ServeOptions = {}): Handler {
  return (req, res, hit) => {
    const ranges = opts.ranges !== false;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = ranges && range ? Number(range[1]) : 0;
    res.writeHead(start > 0 ? 206 : 200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': body.length - start,
      ETag: '"fixture-1"',
      ...(ranges ? { 'Accept-Ranges': 'bytes' } : {}),
      ...(start > 0 ? { 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
    });
    if (hit === 1 && opts.dropFirstAt !== undefined) {
      res.write(body.subarray(0, opts.dropFirstAt), () => res.socket?.destroy());
      return;
    }
    if (hit === 1 && opts.holdAt !== undefined && opts.gate) {
      res.write(body.subarray(0, opts.holdAt));
      void opts.gate.then(() => res.end(body.subarray(opts.holdAt)));
      return;
    }
    res.end(body.subarray(start));
  };
}
