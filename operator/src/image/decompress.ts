import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { Compression } from '../api/image-types.js';

const MAGIC: Array<[Compression, Buffer]> = [
  ['gz', Buffer.from([0x1f, 0x8b])],
  ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])],
  ['zst', Buffer.from([0x28, 0xb5, 0x2f, 0xfd])],
  ['bz2', Buffer.from('BZh')],
];
/** Bytes needed to tell the formats apart. */
export const MAGIC_BYTES = 6;

export function detectCompression(head: Buffer): Compression | undefined {
  return MAGIC.find(([, magic]) => head.subarray(0, magic.length).equals(magic))?.[0];
}

const TOOLS: Record<Exclude<Compression, 'gz'>, string> = { xz: 'xz', zst: 'zstd', bz2: 'bzip2' };

/**
 * The decompressed bytes of `input`: gz in-process with zlib, the others through `xz -dc`, `zstd -dc` and
 * `bzip2 -dc` (stdin to stdout, so nothing touches the disk). A failure of the input or of the tool errors the
 * output; destroying the output ends the tool.
 */
export function decompress(input: Readable, format: Compression): Readable {
  if (format === 'gz') {
    const gunzip = createGunzip();
    pipeline(input, gunzip).catch((err: unknown) => gunzip.destroy(err as Error));
    return gunzip;
  }
  const tool = TOOLS[format];
  const child = spawn(tool, ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 2000) stderr += d.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  const fed = pipeline(input, child.stdin);
  async function* out(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of child.stdout) yield chunk as Buffer;
      await fed;
      const code = await exited;
      if (code !== 0) throw new Error(`${tool} -dc failed (exit ${code}): ${stderr.trim().slice(0, 300)}`);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      input.destroy();
    }
  }
  // An input failure (a checksum mismatch, a source gone for good) must win over the tool's complaint about
  // a truncated stream, which it causes.
  const output = Readable.from(out());
  fed.catch((err: unknown) => output.destroy(err as Error));
  exited.catch((err: unknown) => output.destroy(new Error(`cannot run ${tool}: ${String(err)}`)));
  return output;
}
