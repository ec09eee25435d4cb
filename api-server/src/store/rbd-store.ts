import { pipeline } from 'node:stream/promises';
import { StoreError, storageFull } from './errors.js';
import { storeHasSnapshot, storeInUse } from './rbd-errors.js';
import { formatRbdLocation, parseRbdLocation, type RbdLocation } from './rbd-location.js';
import {
  loadRbdAddon,
  rbdErrno,
  type ClusterHandle,
  type ImageHandle,
  type PoolHandle,
  type RbdAddon,
} from './rbd-native.js';
import { ChunkedImageReader } from './rbd-reader.js';
import { ChunkedImageWriter } from './rbd-writer.js';
import type { ByteRange, Store, StoredObject } from './store.js';

/** The [glance_store] (or backend section) options of an rbd store, as upstream names them. */
export interface RbdStoreOptions {
  /** MiB per write and per read; the image's object size is the largest power of two not above it. */
  rbd_store_chunk_size: number;
  rbd_store_pool: string;
  /** The cephx id (without `client.`); null leaves it to librados. */
  rbd_store_user: string | null;
  /** '' lets librados search its default places. */
  rbd_store_ceph_conf: string;
  rbd_thin_provisioning: boolean;
}

/** Not upstream options: how many chunk writes (upload) and reads (download) one transfer keeps in flight. */
export interface RbdPipelineDepth {
  writes: number;
  reads: number;
}

// Measured by the rbd-store benchmark on the local one-node cluster: see bench/README.md.
const DEFAULT_DEPTH: RbdPipelineDepth = { writes: 4, reads: 4 };

export const SNAPSHOT_NAME = 'snap';
const RBD_FEATURE_LAYERING = 1;

interface Connection {
  cluster: ClusterHandle;
  fsid: string;
  features: number;
}

/** int(conf_get('rbd_default_features')), with upstream's fallback to layering alone when it is unset or 0. */
function imageFeatures(configured: string | null): number {
  if (configured === null) return RBD_FEATURE_LAYERING;
  if (!/^\s*\d+\s*$/.test(configured)) throw new Error(`rbd_default_features is not a number: ${configured}`);
  return Number(configured) || RBD_FEATURE_LAYERING;
}

/**
 * glance_store's rbd driver: each image is an RBD image named by the image id in rbd_store_pool, created with the
 * cluster's rbd_default_features and an object size of rbd_store_chunk_size, written in chunks, then snapshotted as
 * `snap` and the snapshot protected so that Nova and Cinder can clone it. The location is
 * `rbd://<fsid>/<pool>/<image id>/snap`. One librados connection, as rbd_store_user, serves every transfer; it is
 * made on first use and kept until close().
 */
export class RbdStore implements Store {
  readonly scheme = 'rbd';
  readonly #addon: RbdAddon;
  readonly #pool: string;
  readonly #user: string | null;
  readonly #confPath: string | null;
  readonly #thinProvisioning: boolean;
  readonly #chunkSize: number;
  readonly #order: number;
  readonly #depth: RbdPipelineDepth;
  readonly #pools = new Map<string, Promise<PoolHandle>>();
  #connection: Promise<Connection> | null = null;

  constructor(options: RbdStoreOptions, depth: RbdPipelineDepth = DEFAULT_DEPTH) {
    this.#addon = loadRbdAddon();
    this.#pool = options.rbd_store_pool;
    this.#user = options.rbd_store_user;
    this.#confPath = options.rbd_store_ceph_conf === '' ? null : options.rbd_store_ceph_conf;
    this.#thinProvisioning = options.rbd_thin_provisioning;
    this.#chunkSize = options.rbd_store_chunk_size * 1024 * 1024;
    // int(math.log(chunk_size, 2)), which is exact for every whole number of MiB.
    this.#order = 31 - Math.clz32(options.rbd_store_chunk_size) + 20;
    this.#depth = depth;
  }

  /**
   * `size` is the upload's declared length (upstream gets it from Content-Length): the image is then created at
   * that size rather than grown while the data arrives, as glance_store does. 0, as upstream, means unknown.
   */
  async add(imageId: string, data: NodeJS.ReadableStream, size?: number): Promise<StoredObject> {
    const declaredSize = size !== undefined && size > 0 ? size : null;
    const { fsid, features } = await this.#connect();
    const pool = await this.#openPool(this.#pool);
    await this.#addon
      .imageCreate(pool, imageId, declaredSize ?? 0, this.#order, features)
      .catch((err: unknown) => {
        throw rbdErrno(err, 'EEXIST')
          ? new StoreError('duplicate', `RBD image ${imageId} already exists`, { cause: err })
          : err;
      });
    let written: number;
    try {
      const image = await this.#addon.imageOpen(pool, imageId, null, false);
      written = await this.#using(image, () => this.#fill(image, data, declaredSize));
    } catch (err) {
      await this.#remove(pool, imageId, SNAPSHOT_NAME).catch(() => undefined);
      throw rbdErrno(err, 'ENOSPC') ? storageFull(err) : err;
    }
    const location = formatRbdLocation({ fsid, pool: this.#pool, image: imageId, snapshot: SNAPSHOT_NAME });
    return { location, size: written };
  }

  async get(location: string, range?: ByteRange): Promise<NodeJS.ReadableStream> {
    const loc = parseRbdLocation(location);
    const image = await this.#openImage(loc);
    try {
      const size = await this.#addon.imageSize(image);
      return new ChunkedImageReader(
        {
          read: (into, offset) => this.#addon.aioRead(image, into, offset),
          close: () => this.#addon.imageClose(image),
        },
        {
          start: range?.start ?? 0,
          end: range ? Math.min(range.end + 1, size) : size,
          chunkSize: this.#chunkSize,
          depth: this.#depth.reads,
        },
      );
    } catch (err) {
      await this.#addon.imageClose(image).catch(() => undefined);
      throw err;
    }
  }

  async size(location: string): Promise<number> {
    const image = await this.#openImage(parseRbdLocation(location));
    return this.#using(image, () => this.#addon.imageSize(image));
  }

  /** Throws StoreConflictError when a clone of the snapshot (or a watcher, or another snapshot) keeps the data. */
  async delete(location: string): Promise<void> {
    const loc = parseRbdLocation(location);
    let pool: PoolHandle;
    try {
      pool = await this.#openPool(loc.pool ?? this.#pool);
    } catch (err) {
      if (rbdErrno(err, 'ENOENT')) return;
      throw err;
    }
    await this.#remove(pool, loc.image, loc.snapshot);
  }

  /** Releases the cluster connection; call once no transfer is running any more. */
  async close(): Promise<void> {
    const connecting = this.#connection;
    this.#connection = null;
    const connection = await connecting?.catch(() => null);
    const pools = await Promise.allSettled(this.#pools.values());
    this.#pools.clear();
    for (const pool of pools) if (pool.status === 'fulfilled') this.#addon.poolClose(pool.value);
    if (connection) await this.#addon.clusterShutdown(connection.cluster);
  }

  async #fill(image: ImageHandle, data: NodeJS.ReadableStream, declaredSize: number | null): Promise<number> {
    const writer = new ChunkedImageWriter(
      {
        write: (chunk, offset) => this.#addon.aioWrite(image, chunk, offset),
        resize: (size) => this.#addon.imageResize(image, size),
      },
      {
        chunkSize: this.#chunkSize,
        depth: this.#depth.writes,
        thinProvisioning: this.#thinProvisioning,
        declaredSize,
      },
    );
    await pipeline(data, writer).catch(async (err: unknown) => {
      // pipeline() settles as soon as a stream fails, while writes may still be in flight: the image can only be
      // closed and removed once the writer has closed.
      if (!writer.closed) await new Promise((resolve) => writer.once('close', resolve));
      throw err;
    });
    await this.#addon.snapCreate(image, SNAPSHOT_NAME);
    await this.#addon.snapProtect(image, SNAPSHOT_NAME);
    return writer.bytesWritten;
  }

  /** Upstream's _delete_image; an image that is already gone is not an error. */
  async #remove(pool: PoolHandle, name: string, snapshot: string | null): Promise<void> {
    try {
      if (snapshot !== null) {
        const image = await this.#addon.imageOpen(pool, name, null, false);
        await this.#using(image, () => this.#removeSnapshot(image, snapshot));
      }
      await this.#addon.imageRemove(pool, name);
    } catch (err) {
      if (rbdErrno(err, 'ENOENT')) return;
      if (rbdErrno(err, 'ENOTEMPTY')) throw storeHasSnapshot(err);
      if (rbdErrno(err, 'EBUSY')) throw storeInUse(err);
      throw err;
    }
  }

  async #removeSnapshot(image: ImageHandle, snapshot: string): Promise<void> {
    try {
      await this.#addon.snapSet(image, snapshot);
      const clones = (await this.#addon.listChildren(image)).filter((child) => !child.trash);
      await this.#addon.snapSet(image, null);
      if (clones.length > 0) throw storeInUse();
      // Already unprotected: librbd says EINVAL, which upstream ignores too.
      await this.#addon.snapUnprotect(image, snapshot).catch((err: unknown) => {
        if (!rbdErrno(err, 'EINVAL')) throw err;
      });
      await this.#addon.snapRemove(image, snapshot);
    } catch (err) {
      // No such snapshot: the image itself is still removed.
      if (!rbdErrno(err, 'ENOENT')) throw err;
    }
  }

  /** Opens the image a location names, read-only, at its snapshot; StoreError('not-found') when either is gone. */
  async #openImage(loc: RbdLocation): Promise<ImageHandle> {
    try {
      const pool = await this.#openPool(loc.pool ?? this.#pool);
      return await this.#addon.imageOpen(pool, loc.image, loc.snapshot, true);
    } catch (err) {
      if (!rbdErrno(err, 'ENOENT')) throw err;
      throw new StoreError('not-found', `RBD image ${formatRbdLocation(loc)} does not exist`, { cause: err });
    }
  }

  /** Runs `use`, then closes `image`; a failure to close only surfaces when `use` succeeded. */
  async #using<T>(image: ImageHandle, use: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await use();
    } catch (err) {
      await this.#addon.imageClose(image).catch(() => undefined);
      throw err;
    }
    await this.#addon.imageClose(image);
    return result;
  }

  /** The shared connection, made on first use; a failed attempt is forgotten so that the next call retries. */
  #connect(): Promise<Connection> {
    if (this.#connection === null) {
      const connecting = this.#openConnection();
      this.#connection = connecting;
      connecting.catch(() => {
        if (this.#connection === connecting) this.#connection = null;
      });
    }
    return this.#connection;
  }

  async #openConnection(): Promise<Connection> {
    const cluster = await this.#addon.connect(this.#confPath, this.#user).catch((err: unknown) => {
      throw new Error('Error connecting to ceph cluster.', { cause: err });
    });
    try {
      const features = imageFeatures(this.#addon.clusterConfGet(cluster, 'rbd_default_features'));
      return { cluster, fsid: this.#addon.clusterFsid(cluster), features };
    } catch (err) {
      await this.#addon.clusterShutdown(cluster).catch(() => undefined);
      throw err;
    }
  }

  /** One ioctx per pool for the life of the connection; a failed open is forgotten so that the next call retries. */
  #openPool(name: string): Promise<PoolHandle> {
    let pool = this.#pools.get(name);
    if (pool === undefined) {
      const opening = this.#connect().then(({ cluster }) => this.#addon.poolOpen(cluster, name));
      this.#pools.set(name, opening);
      opening.catch(() => {
        if (this.#pools.get(name) === opening) this.#pools.delete(name);
      });
      pool = opening;
    }
    return pool;
  }
}
