import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { MemberRecord, MemberStatus } from '../domain/types.js';
import { nowSeconds } from '../domain/clock.js';
import { transaction } from './pool.js';

/** Whose memberships a caller may see: upstream lets a non-admin see rows of images it owns or its own rows. */
export interface MemberScope {
  projectId: string | null;
  isAdmin: boolean;
}

interface MemberRow extends RowDataPacket {
  id: number;
  image_id: string;
  member: string;
  status: MemberStatus;
  can_share: number;
  created_at: Date;
  updated_at: Date | null;
}

function toRecord(row: MemberRow): MemberRecord {
  return {
    image_id: row.image_id,
    member: row.member,
    status: row.status,
    can_share: Boolean(row.can_share),
    created_at: row.created_at,
    updated_at: row.updated_at ?? row.created_at,
  };
}

/** image_members over upstream's schema; deleted memberships are invisible but their rows are reused. */
export class MemberRepository {
  constructor(private readonly pool: Pool) {}

  /** Upstream's _image_member_find: live rows, scoped for non-admins, optionally one member or status. */
  async find(
    scope: MemberScope,
    imageId: string,
    member: string | null = null,
    status: MemberStatus | null = null,
  ): Promise<MemberRecord[]> {
    const where = ['m.image_id = ?', 'm.deleted = 0'];
    const params: (string | null)[] = [imageId];
    let from = 'image_members m';
    if (!scope.isAdmin) {
      from += ' JOIN images i ON i.id = m.image_id';
      where.push('(i.owner = ? OR m.member = ?)');
      params.push(scope.projectId, scope.projectId);
    }
    if (member !== null) {
      where.push('m.member = ?');
      params.push(member);
    }
    if (status !== null) {
      where.push('m.status = ?');
      params.push(status);
    }
    const [rows] = await this.pool.query<MemberRow[]>(
      `SELECT m.id, m.image_id, m.member, m.status, m.can_share, m.created_at, m.updated_at
         FROM ${from} WHERE ${where.join(' AND ')} ORDER BY m.id`,
      params,
    );
    return rows.map(toRecord);
  }

  async count(imageId: string): Promise<number> {
    const [rows] = await this.pool.query<(RowDataPacket & { n: number })[]>(
      'SELECT COUNT(*) AS n FROM image_members WHERE image_id = ? AND deleted = 0',
      [imageId],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Adds a pending membership, reviving a deleted row for the same pair as upstream does. Returns null when a
   * live membership already exists.
   */
  async add(imageId: string, member: string): Promise<MemberRecord | null> {
    const now = nowSeconds();
    try {
      return await transaction(this.pool, async (conn) => {
        const [rows] = await conn.query<MemberRow[]>(
          `SELECT id, deleted FROM image_members WHERE image_id = ? AND member = ?
          ORDER BY deleted ASC, id DESC LIMIT 1 FOR UPDATE`,
          [imageId, member],
        );
        const existing = rows[0];
        if (existing && !existing.deleted) return null;
        if (existing) {
          await conn.query(
            `UPDATE image_members SET status = 'pending', can_share = 0, created_at = ?, updated_at = ?,
                  deleted = 0, deleted_at = NULL WHERE id = ?`,
            [now, now, existing.id],
          );
        } else {
          await conn.query(
            `INSERT INTO image_members (image_id, member, can_share, status, created_at, updated_at, deleted_at, deleted)
           VALUES (?, ?, 0, 'pending', ?, ?, NULL, 0)`,
            [imageId, member, now, now],
          );
        }
        return {
          image_id: imageId,
          member,
          status: 'pending',
          can_share: false,
          created_at: now,
          updated_at: now,
        };
      });
    } catch (err) {
      // Two adds of a new pair both hold the gap lock; InnoDB lets one insert and kills the other.
      if ((err as { code?: unknown }).code === 'ER_LOCK_DEADLOCK') return null;
      throw err;
    }
  }

  async setStatus(imageId: string, member: string, status: MemberStatus): Promise<MemberRecord | null> {
    const [result] = await this.pool.query<ResultSetHeader>(
      'UPDATE image_members SET status = ?, updated_at = ? WHERE image_id = ? AND member = ? AND deleted = 0',
      [status, nowSeconds(), imageId, member],
    );
    if (result.affectedRows === 0) return null;
    const [record] = await this.find({ projectId: null, isAdmin: true }, imageId, member);
    return record ?? null;
  }

  async remove(imageId: string, member: string): Promise<boolean> {
    const now = nowSeconds();
    const [result] = await this.pool.query<ResultSetHeader>(
      `UPDATE image_members SET deleted = 1, deleted_at = ?, updated_at = ?
        WHERE image_id = ? AND member = ? AND deleted = 0`,
      [now, now, imageId, member],
    );
    return result.affectedRows > 0;
  }
}
