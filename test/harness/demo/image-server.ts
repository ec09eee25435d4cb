import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** A small qcow2 made here, since there is no internet to fetch CirrOS from. */
export async function makeQcow2(dir: string, virtualSize = '64M'): Promise<string> {
  const file = path.join(dir, 'cirros-demo.qcow2');
  await exec('qemu-img', ['create', '-q', '-f', 'qcow2', file, virtualSize]);
  return file;
}

export async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

export interface FileServer {
  url: string;
  close(): Promise<void>;
}

/** Serves one file at `host` (where the pods reach this machine), at its base name, with a Content-Length (what a
 * download server sends). */
export async function serveFile(file: string, host: string): Promise<FileServer> {
  const name = path.basename(file);
  const { size } = await stat(file);
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== `/${name}`) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': size });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}/${name}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
