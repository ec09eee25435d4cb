import { randomUUID } from 'node:crypto';
import type { Pool } from 'mysql2/promise';
import { createPool } from '../api-server/src/db/pool.js';
import { stackValue } from '../test/harness/stack-env.js';

// Rows per INSERT: large enough to register 10,000 images in a few seconds, small enough for max_allowed_packet.
const BATCH = 1000;

/** The glance database both servers use (upstream's connection URL; its password is never printed). */
export function openGlanceDatabase(): Pool {
  return createPool(stackValue('GLANCE_DB_URL'), { connectionLimit: 1 });
}

/**
 * Registers `count` private images owned by `owner` straight into the shared database, as a cloud that has
 * been running a while would have them: queued (no data), two properties and a tag each, created a second
 * apart. Both servers then list the same rows.
 */
export async function registerImages(pool: Pool, owner: string, count: number): Promise<void> {
  const start = Math.floor(Date.now() / 1000) - count;
  for (let first = 0; first < count; first += BATCH) {
    const images: unknown[][] = [];
    const properties: unknown[][] = [];
    const tags: unknown[][] = [];
    for (let n = first; n < Math.min(count, first + BATCH); n++) {
      const id = randomUUID();
      const at = new Date((start + n) * 1000);
      images.push([id, `bench-list-${n}`, 'queued', at, at, 0, 'raw', 'bare', owner, 0, 0, 0, 'private', 0]);
      properties.push([id, 'hw_disk_bus', 'virtio', at, 0], [id, 'os_distro', 'debian', at, 0]);
      tags.push([id, 'bench', at, 0]);
    }
    const conn = await pool.getConnection();
    try {
      await conn.beginTransaction();
      await conn.query(
        `INSERT INTO images (id, name, status, created_at, updated_at, deleted, disk_format, container_format,
           owner, min_disk, min_ram, protected, visibility, os_hidden) VALUES ?`,
        [images],
      );
      await conn.query('INSERT INTO image_properties (image_id, name, value, created_at, deleted) VALUES ?', [
        properties,
      ]);
      await conn.query('INSERT INTO image_tags (image_id, value, created_at, deleted) VALUES ?', [tags]);
      await conn.commit();
    } catch (err) {
      await conn.rollback();
      throw err;
    } finally {
      conn.release();
    }
  }
}

/** Removes every row of every image `owner` has (the scratch project's alone), deleted or not. */
export async function removeImages(pool: Pool, owner: string): Promise<void> {
  const conn = await pool.getConnection();
  try {
    await conn.beginTransaction();
    for (const table of ['image_properties', 'image_tags', 'image_members', 'image_locations']) {
      await conn.query(`DELETE t FROM ${table} t JOIN images i ON i.id = t.image_id WHERE i.owner = ?`, [
        owner,
      ]);
    }
    await conn.query('DELETE FROM images WHERE owner = ?', [owner]);
    await conn.commit();
  } catch (err) {
    await conn.rollback();
    throw err;
  } finally {
    conn.release();
  }
}
