import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { MIB } from './stats.js';

/** A file of random bytes (incompressible, like a real image), made once and reused by later runs. */
export async function randomFile(workdir: string, bytes: number): Promise<string> {
  const path = `${workdir}/random-${bytes}.bin`;
  if (existsSync(path)) return path;
  await mkdir(workdir, { recursive: true });
  const partial = `${path}.${process.pid}.partial`;
  const out = await open(partial, 'w');
  try {
    for (let written = 0; written < bytes; written += MIB) {
      await out.write(randomBytes(Math.min(MIB, bytes - written)));
    }
  } finally {
    await out.close();
  }
  await rename(partial, path);
  return path;
}

/**
 * `bytes` of generated data as a stream, for uploads larger than is worth keeping on disk: 16 random MiB
 * repeated, so nothing the size of the image is ever in memory.
 */
export function generatedStream(bytes: number): Readable {
  const pool = Array.from({ length: 16 }, () => randomBytes(MIB));
  let produced = 0;
  return new Readable({
    highWaterMark: MIB,
    read(): void {
      if (produced >= bytes) {
        this.push(null);
        return;
      }
      const chunk = pool[(produced / MIB) % pool.length]!;
      const piece = chunk.subarray(0, Math.min(MIB, bytes - produced));
      produced += piece.length;
      this.push(piece);
    },
  });
}
