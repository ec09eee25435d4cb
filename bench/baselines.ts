import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import net from 'node:net';
import { cheapReader } from './http.js';
import { MIB } from './stats.js';

/**
 * The hashing limit: md5 and then sha512 of every 1 MiB of the file with Node's crypto, on one thread, the file
 * coming from the page cache. An upload that must compute both cannot beat this on one core.
 */
export async function hashFile(path: string): Promise<{ ms: number; md5: string; sha512: string }> {
  const md5 = createHash('md5');
  const sha512 = createHash('sha512');
  const start = performance.now();
  for await (const chunk of createReadStream(path, { highWaterMark: MIB })) {
    md5.update(chunk as Buffer);
    sha512.update(chunk as Buffer);
  }
  const digests = { md5: md5.digest('hex'), sha512: sha512.digest('hex') };
  return { ms: performance.now() - start, ...digests };
}

/**
 * `cat` of the file into a loopback TCP connection that this process reads with the downloads' reader
 * (cheapReader): the bytes take the path a server's do, and the reader costs the same for both.
 */
export async function catFile(path: string): Promise<{ ms: number; bytes: number }> {
  const server = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  try {
    const { port } = server.address() as net.AddressInfo;
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    let bytes = 0;
    const reader = cheapReader({ host: '127.0.0.1', port }, (chunk) => {
      bytes += chunk.length;
      return true;
    });
    const readerClosed = new Promise<void>((resolve, reject) => {
      reader.once('close', () => resolve());
      reader.once('error', reject);
    });
    const writer = await accepted;
    const start = performance.now();
    // cat writes into the accepted socket's descriptor; this process never reads from that end.
    const child = spawn('cat', [path], { stdio: ['ignore', writer, 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    // Our copy of the descriptor is the last one: closing it ends the stream the reader sees.
    writer.destroy();
    await readerClosed;
    const ms = performance.now() - start;
    if (code !== 0) throw new Error(`cat ${path}: exit ${code}: ${stderr.trim()}`);
    return { ms, bytes };
  } finally {
    server.close();
  }
}
