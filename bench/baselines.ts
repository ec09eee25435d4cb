import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
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

/** `cat` of the file into a pipe this process reads and drops: the bytes reach a reader, as a download's do. */
export function catFile(path: string): Promise<{ ms: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn('cat', [path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let bytes = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (bytes += chunk.length));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve({ ms: performance.now() - start, bytes });
      else reject(new Error(`cat ${path}: exit ${code}: ${stderr.trim()}`));
    });
  });
}
