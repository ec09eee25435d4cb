import type { Pool, RowDataPacket } from 'mysql2/promise';

/** The resources upstream registers with Keystone unified limits (glance/quota/keystone.py). */
export const QUOTA_RESOURCES = [
  'image_size_total',
  'image_stage_total',
  'image_count_total',
  'image_count_uploading',
] as const;
export type QuotaResource = (typeof QUOTA_RESOURCES)[number];

const MIB = 1024 * 1024;

// An image being copied to more stores holds staging space and an upload slot whatever its status.
const COPYING = `EXISTS (SELECT 1 FROM image_properties p WHERE p.image_id = images.id
                   AND p.name = 'os_glance_importing_to_stores' AND p.value <> '')`;

// glance/db/sqlalchemy/api.py's user_get_* queries; `<=>` matches a NULL owner as SQLAlchemy's `== None` does.
const QUERIES: Record<QuotaResource, string> = {
  // Bytes held in stores: each live location holds a copy.
  image_size_total: `SELECT SUM(images.size * (SELECT COUNT(*) FROM image_locations l
                                               WHERE l.image_id = images.id AND l.status <> 'deleted')) AS n
                       FROM images
                      WHERE images.owner <=> ? AND images.size > 0
                        AND images.status NOT IN ('killed', 'deleted')`,
  image_stage_total: `SELECT SUM(images.size) AS n FROM images
                       WHERE images.owner <=> ? AND images.size > 0
                         AND (images.status IN ('uploading', 'importing')
                              OR (images.status NOT IN ('uploading', 'importing', 'killed', 'deleted')
                                  AND ${COPYING}))`,
  image_count_total: `SELECT COUNT(*) AS n FROM images
                       WHERE images.owner <=> ? AND images.status NOT IN ('killed', 'deleted')`,
  image_count_uploading: `SELECT COUNT(*) AS n FROM images
                           WHERE images.owner <=> ?
                             AND (images.status IN ('saving', 'uploading', 'importing')
                                  OR (images.status NOT IN ('saving', 'uploading', 'importing', 'killed', 'deleted')
                                      AND ${COPYING}))`,
};

/** What a project uses of each resource, in the units its limits are in: MiB (rounded down) for sizes. */
export class QuotaUsage {
  constructor(private readonly pool: Pool) {}

  async of(owner: string | null, resource: QuotaResource): Promise<number> {
    const [rows] = await this.pool.query<(RowDataPacket & { n: string | number | null })[]>(
      QUERIES[resource],
      [owner],
    );
    const n = Number(rows[0]?.n ?? 0);
    return resource === 'image_size_total' || resource === 'image_stage_total' ? Math.floor(n / MIB) : n;
  }
}
