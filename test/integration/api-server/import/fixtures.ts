import { appendFileSync, mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ApiServer, type ServerOptions } from '../server.js';

/** Our api-server with its own staging directory and, optionally, an [import_filtering_opts] section. */
export class ImportServer extends ApiServer {
  constructor(
    opts: ServerOptions,
    private readonly filtering: Record<string, string> | null,
  ) {
    super(opts);
  }

  get stagingDir(): string {
    return path.join(this.dir, 'staging');
  }

  override async writeConfig(): Promise<void> {
    await super.writeConfig();
    mkdirSync(this.stagingDir);
    // Repeated sections merge, as in oslo.config, so [DEFAULT] options may follow the file ApiServer wrote.
    const lines = ['', '[DEFAULT]', `node_staging_uri = file://${this.stagingDir}`];
    if (this.filtering) {
      lines.push('[import_filtering_opts]', ...Object.entries(this.filtering).map(([k, v]) => `${k} = ${v}`));
    }
    appendFileSync(this.configFile, `${lines.join('\n')}\n`);
  }
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A real HTTP server on 127.0.0.1 that web-download fetches from; it records every path it was asked for. */
export class ImageSource {
  readonly requests: string[] = [];
  private readonly routes = new Map<string, Handler>();
  private server: Server | null = null;
  port = 0;

  route(path: string, handler: Handler): void {
    this.routes.set(path, handler);
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      this.requests.push(req.url ?? '');
      const handler = this.routes.get(req.url ?? '');
      if (handler) handler(req, res);
      else res.writeHead(404).end();
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/** A qcow2 header announcing `virtualSize` bytes, padded with random-looking data to `length`. */
export function qcow2Image(virtualSize: bigint, length: number): Buffer {
  const data = Buffer.alloc(length);
  for (let i = 0; i < length; i++) data[i] = (i * 7919) % 251;
  Buffer.from('QFI\xfb', 'latin1').copy(data, 0);
  data.writeUInt32BE(3, 4);
  data.writeBigUInt64BE(0n, 8);
  data.writeUInt32BE(0, 16);
  data.writeUInt32BE(16, 20);
  data.writeBigUInt64BE(virtualSize, 24);
  return data;
}

/** Polls `probe` until it returns a value, or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
