import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Opaque librados/librbd handles; only the addon can make them.
declare const handleKind: unique symbol;
export type ClusterHandle = { readonly [handleKind]: 'cluster' };
export type PoolHandle = { readonly [handleKind]: 'pool' };
export type ImageHandle = { readonly [handleKind]: 'image' };

/** A clone of a snapshot, as rbd_list_children3 reports it. */
export interface LinkedImage {
  pool: string;
  image: string;
  trash: boolean;
}

/** native/src/glance_rbd.cc. Failures reject with an Error carrying `code` (errno name) and `errno`. */
export interface RbdAddon {
  connect(confPath: string | null, user: string | null): Promise<ClusterHandle>;
  clusterFsid(cluster: ClusterHandle): string;
  clusterConfGet(cluster: ClusterHandle, option: string): string | null;
  clusterShutdown(cluster: ClusterHandle): Promise<void>;
  poolOpen(cluster: ClusterHandle, pool: string): Promise<PoolHandle>;
  poolClose(pool: PoolHandle): void;
  imageCreate(pool: PoolHandle, name: string, size: number, order: number, features: number): Promise<void>;
  imageRemove(pool: PoolHandle, name: string): Promise<void>;
  imageOpen(pool: PoolHandle, name: string, snapshot: string | null, readOnly: boolean): Promise<ImageHandle>;
  imageClose(image: ImageHandle): Promise<void>;
  imageSize(image: ImageHandle): Promise<number>;
  imageResize(image: ImageHandle, size: number): Promise<void>;
  snapCreate(image: ImageHandle, snapshot: string): Promise<void>;
  snapProtect(image: ImageHandle, snapshot: string): Promise<void>;
  snapUnprotect(image: ImageHandle, snapshot: string): Promise<void>;
  snapRemove(image: ImageHandle, snapshot: string): Promise<void>;
  snapSet(image: ImageHandle, snapshot: string | null): Promise<void>;
  listChildren(image: ImageHandle): Promise<LinkedImage[]>;
  /** librbd owns `buffer` until the promise settles: it must not be reused before then. */
  aioWrite(image: ImageHandle, buffer: Buffer, offset: number): Promise<void>;
  /** Resolves with the number of bytes read into `buffer`. */
  aioRead(image: ImageHandle, buffer: Buffer, offset: number): Promise<number>;
}

export const ADDON_PATH = 'native/build/Release/glance_rbd.node';

/** True when `err` is a librados/librbd failure with errno name `code`. */
export function rbdErrno(err: unknown, code: string): boolean {
  // Not `instanceof Error`: the addon's errors come from the realm that loaded it, which under jest is not the
  // realm of this module.
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

let addon: RbdAddon | undefined;

/**
 * Loads the addon that `npm run build:native` builds. It is looked for above this module so that the same code
 * finds it from the TypeScript sources (tests) and from dist/ (the server).
 */
export function loadRbdAddon(): RbdAddon {
  if (addon) return addon;
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = here; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, ADDON_PATH);
    if (existsSync(candidate)) {
      addon = createRequire(import.meta.url)(candidate) as RbdAddon;
      return addon;
    }
    if (path.dirname(dir) === dir) break;
  }
  throw new Error(
    `The RBD store needs the librbd addon ${ADDON_PATH}: build it with \`npm run build:native\`.`,
  );
}
