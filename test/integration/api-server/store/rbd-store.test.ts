import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { StoreError } from '../../../../api-server/src/store/errors.js';
import { StoreConflictError } from '../../../../api-server/src/store/rbd-errors.js';
import { RbdStore, type RbdStoreOptions } from '../../../../api-server/src/store/rbd-store.js';
import { run } from '../../../harness/run.js';
import { stackValue } from '../../../harness/stack-env.js';
import { rbd, removeRbdImage } from './fixtures.js';

// The install guide's [glance_store] for Ceph, as client.glance with its own keyring.
const OPTIONS: RbdStoreOptions = {
  rbd_store_pool: 'images',
  rbd_store_user: 'glance',
  rbd_store_ceph_conf: stackValue('CEPH_CONF'),
  rbd_store_chunk_size: 8,
  rbd_thin_provisioning: false,
};
const MIB = 1024 * 1024;
const FSID = stackValue('CEPH_FSID');

let store: RbdStore;
const created = new Set<string>();

function newId(): string {
  const id = randomUUID();
  created.add(id);
  return id;
}

/** What an HTTP request body looks like: 64 KiB pieces. */
function body(data: Buffer, piece = 64 * 1024): Readable {
  const pieces: Buffer[] = [];
  for (let i = 0; i < data.length; i += piece) pieces.push(data.subarray(i, i + piece));
  return Readable.from(pieces);
}

/** A body that fails after `bytes`, as when the client goes away mid-upload. */
function brokenBody(bytes: number): Readable {
  let sent = 0;
  return new Readable({
    read(): void {
      if (sent >= bytes) {
        this.destroy(new Error('client went away'));
        return;
      }
      const piece = randomBytes(Math.min(64 * 1024, bytes - sent));
      sent += piece.length;
      this.push(piece);
    },
  });
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

// Upstream's own driver (glance_store on Debian's python3), configured like OPTIONS: `add <id> <file>` prints the
// location, `get <location>` prints the size and sha256 of the bytes it streams, `delete <location>`.
const GLANCE_STORE = `
import hashlib, sys
from oslo_config import cfg
import glance_store
glance_store.register_opts(cfg.CONF)
cfg.CONF([], project='glance', default_config_files=[])
for key, value in {'stores': ['rbd'], 'default_store': 'rbd', 'rbd_store_pool': 'images', 'rbd_store_user': 'glance',
                   'rbd_store_ceph_conf': sys.argv[1], 'rbd_store_chunk_size': 8}.items():
    cfg.CONF.set_override(key, value, group='glance_store')
glance_store.create_stores(cfg.CONF)
op, arg = sys.argv[2], sys.argv[3]
if op == 'add':
    with open(sys.argv[4], 'rb') as f:
        print(glance_store.add_to_backend_with_multihash(cfg.CONF, arg, f, 0, 'sha512')[0])
elif op == 'get':
    chunks, size = glance_store.get_from_backend(arg)
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    print(size, digest.hexdigest())
else:
    glance_store.delete_from_backend(arg)
`;
async function upstreamStore(...args: string[]): Promise<string> {
  return (await run('python3', ['-c', GLANCE_STORE, OPTIONS.rbd_store_ceph_conf, ...args])).stdout.trim();
}
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

async function imagesInPool(): Promise<string[]> {
  return JSON.parse(await rbd('-p', 'images', 'ls', '--format', 'json')) as string[];
}
async function snapshots(id: string): Promise<Array<{ name: string; protected: string; size: number }>> {
  return JSON.parse(await rbd('snap', 'ls', '--format', 'json', `images/${id}`)) as Array<{
    name: string;
    protected: string;
    size: number;
  }>;
}

beforeAll(() => {
  store = new RbdStore(OPTIONS);
});

afterAll(async () => {
  try {
    await store.close();
  } finally {
    await removeLeftovers();
  }
});

// Anything a failed test left behind, clones first.
async function removeLeftovers(): Promise<void> {
  const left = await imagesInPool();
  for (const name of left.filter((n) => [...created].some((id) => n.startsWith(`${id}-`)))) {
    await rbd('rm', '--no-progress', `images/${name}`).catch(() => undefined);
  }
  for (const id of created) {
    if (!left.includes(id)) continue;
    await removeRbdImage(id);
  }
}

describe('RbdStore on the stack Ceph', () => {
  it.each([
    ['empty', 0],
    ['one byte', 1],
    ['less than a chunk, not a multiple of anything', 1_234_567],
    ['more than two chunks, not a multiple of the chunk size', 2 * 8 * MIB + 54_321],
  ])('stores %s data as upstream lays it out and reads it back byte for byte', async (_label, size) => {
    const id = newId();
    const data = randomBytes(size);

    const stored = await store.add(id, body(data));

    expect(stored).toEqual({ location: `rbd://${FSID}/images/${id}/snap`, size });
    expect(await imagesInPool()).toContain(id);
    expect(await snapshots(id)).toEqual([expect.objectContaining({ name: 'snap', protected: 'true', size })]);
    const info = JSON.parse(await rbd('info', '--format', 'json', `images/${id}`)) as {
      size: number;
      order: number;
      format: number;
      features: string[];
    };
    expect(info).toMatchObject({ size, order: 23, format: 2 });
    expect(info.features).toContain('layering');
    expect(await store.size(stored.location)).toBe(size);
    expect((await readAll(await store.get(stored.location))).equals(data)).toBe(true);
  });

  it('creates the image at a declared size and stores the data the same way', async () => {
    const id = newId();
    const data = randomBytes(8 * MIB + 3);
    const stored = await store.add(id, body(data), data.length);
    expect(stored).toEqual({ location: `rbd://${FSID}/images/${id}/snap`, size: data.length });
    expect(await snapshots(id)).toEqual([expect.objectContaining({ name: 'snap', protected: 'true' })]);
    expect((await readAll(await store.get(stored.location))).equals(data)).toBe(true);
  });

  it('creates images with the features `rbd create` gets from the same cluster configuration', async () => {
    const id = newId();
    const reference = `${id}-reference`;
    const stored = await store.add(id, body(randomBytes(1000)));
    await rbd('create', '--size', '1', `images/${reference}`);
    const features = async (name: string): Promise<string[]> =>
      (JSON.parse(await rbd('info', '--format', 'json', `images/${name}`)) as { features: string[] })
        .features;
    try {
      expect(await features(id)).toEqual(await features(reference));
    } finally {
      await rbd('rm', '--no-progress', `images/${reference}`);
    }
    await store.delete(stored.location);
  });

  it("stores images upstream glance_store reads and deletes, and reads and deletes upstream's", async () => {
    const ours = newId();
    const ourData = randomBytes(8 * MIB + 4321);
    const stored = await store.add(ours, body(ourData));
    expect(await upstreamStore('get', stored.location)).toBe(`${ourData.length} ${sha256(ourData)}`);

    const theirs = newId();
    const theirData = randomBytes(3 * 8 * MIB + 99);
    const dir = await mkdtemp(path.join(tmpdir(), 'rbd-store-'));
    try {
      await writeFile(path.join(dir, 'data'), theirData);
      const location = await upstreamStore('add', theirs, path.join(dir, 'data'));
      expect(location).toBe(`rbd://${FSID}/images/${theirs}/snap`);
      expect((await readAll(await store.get(location))).equals(theirData)).toBe(true);
      expect(await store.size(location)).toBe(theirData.length);
      // Same object size, format and features; both snapshotted as a protected `snap`.
      const layout = async (id: string): Promise<unknown> => {
        const info = JSON.parse(await rbd('info', '--format', 'json', `images/${id}`)) as Record<
          string,
          unknown
        >;
        return { order: info.order, format: info.format, features: info.features };
      };
      expect(await layout(ours)).toEqual(await layout(theirs));
      for (const id of [ours, theirs]) {
        expect(await snapshots(id)).toEqual([expect.objectContaining({ name: 'snap', protected: 'true' })]);
      }
      await store.delete(location);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    await upstreamStore('delete', stored.location);
    const left = await imagesInPool();
    expect(left).not.toContain(ours);
    expect(left).not.toContain(theirs);
  });

  it('serves byte ranges, within a chunk and across chunk boundaries', async () => {
    const id = newId();
    const data = randomBytes(3 * 8 * MIB + 777);
    const { location } = await store.add(id, body(data));
    for (const [start, end] of [
      [0, 0],
      [100, 199],
      [8 * MIB - 10, 8 * MIB + 9],
      [5, 2 * 8 * MIB + 5],
      [data.length - 500, data.length - 1],
    ] as const) {
      const got = await readAll(await store.get(location, { start, end }));
      expect(got.equals(data.subarray(start, end + 1))).toBe(true);
    }
  });

  it('reads the legacy one-component location rbd://<image> from the configured pool', async () => {
    const id = newId();
    const data = randomBytes(4096);
    await store.add(id, body(data));
    expect((await readAll(await store.get(`rbd://${id}`))).equals(data)).toBe(true);
  });

  it('deletes the snapshot and the image, and a second delete of the same location is not an error', async () => {
    const id = newId();
    const { location } = await store.add(id, body(randomBytes(10_000)));
    await store.delete(location);
    expect(await imagesInPool()).not.toContain(id);
    await expect(store.delete(location)).resolves.toBeUndefined();
    await expect(store.get(location)).rejects.toMatchObject({
      kind: 'not-found',
      message: `RBD image ${location} does not exist`,
    });
    await expect(store.size(location)).rejects.toBeInstanceOf(StoreError);
  });

  it('refuses to delete while a clone of the snapshot exists, until the clone is removed', async () => {
    const id = newId();
    const clone = `${id}-clone`;
    const data = randomBytes(9 * MIB);
    const { location } = await store.add(id, body(data));
    await rbd('clone', `images/${id}@snap`, `images/${clone}`);

    const refused = store.delete(location);
    await expect(refused).rejects.toBeInstanceOf(StoreConflictError);
    await expect(refused).rejects.toMatchObject({ kind: 'in-use' });
    // Nothing was taken away from the clone's parent.
    expect(await snapshots(id)).toEqual([expect.objectContaining({ name: 'snap', protected: 'true' })]);
    expect((await readAll(await store.get(location))).equals(data)).toBe(true);

    await rbd('rm', '--no-progress', `images/${clone}`);
    await store.delete(location);
    expect(await imagesInPool()).not.toContain(id);
  });

  it('deletes once the clone has been flattened (it no longer depends on the snapshot)', async () => {
    const id = newId();
    const clone = `${id}-clone`;
    const { location } = await store.add(id, body(randomBytes(100_000)));
    await rbd('clone', `images/${id}@snap`, `images/${clone}`);
    await expect(store.delete(location)).rejects.toMatchObject({ kind: 'in-use' });
    await rbd('flatten', '--no-progress', `images/${clone}`);

    await store.delete(location);
    const left = await imagesInPool();
    expect(left).not.toContain(id);
    expect(left).toContain(clone);
    await rbd('rm', '--no-progress', `images/${clone}`);
  });

  it('refuses an id that already has an RBD image and leaves that image alone', async () => {
    const id = newId();
    const data = randomBytes(5000);
    const { location } = await store.add(id, body(data));
    await expect(store.add(id, body(randomBytes(10)))).rejects.toMatchObject({ kind: 'duplicate' });
    expect((await readAll(await store.get(location))).equals(data)).toBe(true);
  });

  it.each([
    ['before the first chunk is complete', 3 * MIB],
    ['after several chunks were written', 3 * 8 * MIB + 4096],
  ])('leaves nothing in the pool when the data stream fails %s', async (_label, bytes) => {
    const id = newId();
    await expect(store.add(id, brokenBody(bytes))).rejects.toThrow('client went away');
    expect(await imagesInPool()).not.toContain(id);
  });

  it('with rbd_thin_provisioning, does not write chunks of zeros but reads them back as zeros', async () => {
    const thin = new RbdStore({ ...OPTIONS, rbd_thin_provisioning: true });
    try {
      const id = newId();
      const tail = randomBytes(1000);
      const data = Buffer.concat([Buffer.alloc(4 * 8 * MIB), tail]);
      const { location, size } = await thin.add(id, body(data));
      expect(size).toBe(data.length);
      const [usage] = (
        JSON.parse(await rbd('du', '--format', 'json', `images/${id}`)) as {
          images: Array<{ name: string; snapshot?: string; used_size: number }>;
        }
      ).images.filter((i) => i.snapshot === 'snap');
      // The 32 MiB of zeros take no space: only the tail was written.
      expect(usage?.used_size).toBeLessThan(8 * MIB);
      expect((await readAll(await thin.get(location))).equals(data)).toBe(true);
      await thin.delete(location);
    } finally {
      await thin.close();
    }
  });

  it('reports a clear error when the cephx user cannot connect', async () => {
    const stranger = new RbdStore({ ...OPTIONS, rbd_store_user: `nobody-${process.pid}` });
    try {
      await expect(stranger.add(newId(), body(Buffer.from('x')))).rejects.toThrow(
        'Error connecting to ceph cluster.',
      );
    } finally {
      await stranger.close();
    }
  });
});
