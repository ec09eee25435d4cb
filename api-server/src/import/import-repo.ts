import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { ImageRepository } from '../db/image-repo.js';
import { nowSeconds } from '../domain/clock.js';
import { checkStatusTransition } from '../domain/status.js';
import type { ImageRecord, ImageStatus } from '../domain/types.js';
import { IMPORT_LOCK } from './bookkeeping.js';
import { transaction } from '../db/pool.js';

/** The import lock is held by another task, or by none: upstream's TaskAbortedError. */
export class ImportAborted extends Error {
  override readonly name = 'ImportAborted';
}

/** The image was deleted while the import ran. */
export class ImageGone extends Error {
  override readonly name = 'ImageGone';
}

/** Data written to a store for the image. */
export interface ImportedData {
  location: string;
  locationMetadata: Record<string, unknown>;
  size: number;
  checksum: string;
  osHashAlgo: string;
  osHashValue: string;
  virtualSize: number | null;
}

/** What one step of an import changes on the image; anything absent stays. */
export interface ImportChange {
  status?: ImageStatus;
  size?: number;
  diskFormat?: string | null;
  containerFormat?: string | null;
  data?: ImportedData;
  /** Soft-deletes these location rows; the image loses its checksum, hashes and size when none is left. */
  removeLocations?: number[];
  setProperties?: Record<string, string>;
  removeProperties?: string[];
}

/**
 * The image writes of an import (upstream's ImportActionWrapper and the atomic property calls): each change is
 * one transaction that holds the image row and, when made for a task, first checks that the task still holds
 * the image's import lock. `images` must read through another pool than `pool`: a transaction here waits for
 * its reads, and two pools can never wait on each other.
 */
export class ImportRepository {
  constructor(
    private readonly pool: Pool,
    private readonly images: ImageRepository,
  ) {}

  /** Runs `fn` in a transaction holding the image row; null when the image no longer exists. */
  private async holdingImage<T>(
    imageId: string,
    fn: (conn: PoolConnection) => Promise<T>,
  ): Promise<T | null> {
    return transaction(this.pool, async (conn) => {
      const [locked] = await conn.query<RowDataPacket[]>(
        'SELECT id FROM images WHERE id = ? AND deleted = 0 FOR UPDATE',
        [imageId],
      );
      return locked.length === 0 ? null : await fn(conn);
    });
  }

  /**
   * image_set_property_atomic for the import lock: true only for the one caller that created (or revived) the
   * property of a live image.
   */
  async claimLock(imageId: string, taskId: string): Promise<boolean> {
    const claimed = await this.holdingImage(imageId, async (conn) => {
      const now = nowSeconds();
      const [revived] = await conn.query<ResultSetHeader>(
        `UPDATE image_properties SET value = ?, deleted = 0, deleted_at = NULL, updated_at = ?
          WHERE image_id = ? AND name = ? AND deleted <> 0`,
        [taskId, now, imageId, IMPORT_LOCK],
      );
      if (revived.affectedRows === 1) return true;
      const [inserted] = await conn.query<ResultSetHeader>(
        `INSERT IGNORE INTO image_properties (image_id, name, value, created_at, updated_at, deleted_at, deleted)
         VALUES (?, ?, ?, ?, NULL, NULL, 0)`,
        [imageId, IMPORT_LOCK, taskId, now],
      );
      return inserted.affectedRows === 1;
    });
    return claimed === true;
  }

  /** image_delete_property_atomic: removes the lock only if `taskId` holds it. */
  async releaseLock(imageId: string, taskId: string): Promise<boolean> {
    const released = await this.holdingImage(imageId, async (conn) => {
      const [result] = await conn.query<ResultSetHeader>(
        'DELETE FROM image_properties WHERE image_id = ? AND name = ? AND value = ? AND deleted = 0',
        [imageId, IMPORT_LOCK, taskId],
      );
      return result.affectedRows === 1;
    });
    return released === true;
  }

  /**
   * Applies what `decide` returns for the current image, atomically. With a `taskId`, throws ImportAborted
   * unless that task holds the lock; throws ImageGone when the image no longer exists. A status change must
   * be one upstream's domain allows (else Error).
   */
  async change(
    imageId: string,
    taskId: string | null,
    decide: (image: ImageRecord) => ImportChange,
  ): Promise<ImageRecord> {
    const done = await this.holdingImage(imageId, async (conn) => {
      // Every writer of an image holds its row first, so a read through the image repository's own pool now
      // sees the image as it stands and as it stays until this transaction ends.
      const image = await this.images.get(imageId);
      if (image === null) return false;
      if (taskId !== null && image.properties[IMPORT_LOCK] !== taskId) {
        throw new ImportAborted(
          `Image ${imageId} import task ${taskId} does not hold the import lock ` +
            `(held by ${image.properties[IMPORT_LOCK] ?? 'no task'})`,
        );
      }
      await this.apply(conn, image, decide(image));
      return true;
    });
    const after = done === true ? await this.images.get(imageId) : null;
    if (after === null) throw new ImageGone(`Image ${imageId} no longer exists`);
    return after;
  }

  private async apply(conn: PoolConnection, image: ImageRecord, change: ImportChange): Promise<void> {
    const now = nowSeconds();
    const sets: string[] = [];
    const params: Array<string | number | Date | null> = [];
    const set = (column: string, value: string | number | Date | null): void => {
      sets.push(`${column} = ?`);
      params.push(value);
    };
    if (change.status !== undefined && change.status !== image.status) {
      const transition = checkStatusTransition(image, change.status);
      if (!transition.ok) throw new Error(transition.message);
      set('status', change.status);
      if (transition.clearsSize) {
        set('size', null);
        set('virtual_size', null);
      }
    }
    if (change.size !== undefined) set('size', change.size);
    if (change.diskFormat !== undefined) set('disk_format', change.diskFormat);
    if (change.containerFormat !== undefined) set('container_format', change.containerFormat);
    const data = change.data;
    if (data) {
      set('size', data.size);
      set('checksum', data.checksum);
      set('os_hash_algo', data.osHashAlgo);
      set('os_hash_value', data.osHashValue);
      sets.push('virtual_size = COALESCE(virtual_size, ?)');
      params.push(data.virtualSize);
      await conn.query(
        `INSERT INTO image_locations (image_id, value, meta_data, status, created_at, updated_at, deleted_at,
           deleted)
         VALUES (?, ?, ?, 'active', ?, ?, NULL, 0)`,
        [image.id, data.location, JSON.stringify(data.locationMetadata), now, now],
      );
    }
    const removed = change.removeLocations ?? [];
    if (removed.length > 0) {
      await conn.query(
        `UPDATE image_locations SET status = 'deleted', deleted = 1, deleted_at = ?, updated_at = ?
          WHERE image_id = ? AND deleted = 0 AND id IN (${removed.map(() => '?').join(', ')})`,
        [now, now, image.id, ...removed],
      );
      const left = image.locations.filter((l) => !removed.includes(l.id)).length;
      if (left === 0 && !data) {
        for (const column of ['checksum', 'os_hash_algo', 'os_hash_value', 'size']) set(column, null);
      }
    }
    for (const [name, value] of Object.entries(change.setProperties ?? {})) {
      await conn.query(
        `INSERT INTO image_properties (image_id, name, value, created_at, updated_at, deleted_at, deleted)
         VALUES (?, ?, ?, ?, NULL, NULL, 0)
         ON DUPLICATE KEY UPDATE value = VALUES(value), updated_at = ?, deleted = 0, deleted_at = NULL`,
        [image.id, name, value, now, now],
      );
    }
    const gone = (change.removeProperties ?? []).filter((name) => name in image.properties);
    if (gone.length > 0) {
      await conn.query(
        `UPDATE image_properties SET deleted = 1, deleted_at = ?, updated_at = ?
          WHERE image_id = ? AND deleted = 0 AND name IN (${gone.map(() => '?').join(', ')})`,
        [now, now, image.id, ...gone],
      );
    }
    set('updated_at', now);
    params.push(image.id);
    await conn.query(`UPDATE images SET ${sets.join(', ')} WHERE id = ?`, params);
  }
}
