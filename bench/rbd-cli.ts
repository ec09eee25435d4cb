import { spawn } from 'node:child_process';
import { stackValue } from '../test/harness/stack-env.js';
import { RBD_POOL, RBD_USER } from './rbd-servers.js';

// librbd's own client, as the stack's client.glance: the baseline the issue measures the rbd store against.

/**
 * Runs `rbd <args>` as client.glance; resolves with the wall time and the bytes it wrote to stdout, which this
 * process reads and drops (so that `rbd export … -` pays for a reader as the store's reads do).
 */
export function rbd(...args: string[]): Promise<{ ms: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn('rbd', ['-c', stackValue('CEPH_CONF'), '--id', RBD_USER, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let bytes = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (bytes += chunk.length));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve({ ms: performance.now() - start, bytes });
      else reject(new Error(`rbd ${args.join(' ')}: exit ${code}: ${stderr.trim()}`));
    });
  });
}

/** `rbd export` of a stored image (or `image@snap`) into a pipe. */
export function rbdExport(image: string): Promise<{ ms: number; bytes: number }> {
  return rbd('export', '--no-progress', `${RBD_POOL}/${image}`, '-');
}

/**
 * `rbd import` of the file as a new image with the rbd store's layout: format 2, 8 MiB objects, and the cluster's
 * rbd_default_features, from which the store takes its features too (exclusive-lock and object-map, the
 * defaults, make writes ~30% slower than layering alone).
 */
export async function rbdImport(file: string, image: string): Promise<number> {
  const args = ['--image-format', '2', '--object-size', '8M'];
  return (await rbd('import', '--no-progress', ...args, file, `${RBD_POOL}/${image}`)).ms;
}

/** Removes an image and its snapshots, protected or not. */
export async function rbdRemove(image: string, snapshot?: string): Promise<void> {
  const spec = `${RBD_POOL}/${image}`;
  if (snapshot) {
    await rbd('snap', 'unprotect', `${spec}@${snapshot}`);
    await rbd('snap', 'purge', '--no-progress', spec);
  }
  await rbd('rm', '--no-progress', spec);
}
