import { createHash } from 'node:crypto';
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { ALEMBIC_VERSION_TABLE, OLDER_REVISIONS, SCHEMA_HEAD, TABLES } from './schema.js';

export { SCHEMA_HEAD } from './schema.js';

export interface MigrateResult {
  action: 'created' | 'up-to-date';
}

export interface MigrateOptions {
  /** How long to wait for another process that is migrating the same database. */
  lockWaitSeconds?: number;
}

/** The database holds a schema this server must not touch; `found` lists its alembic revisions. */
export class SchemaVersionError extends Error {
  override readonly name = 'SchemaVersionError';
  constructor(
    message: string,
    readonly found: readonly string[],
    readonly expected: string = SCHEMA_HEAD,
  ) {
    super(message);
  }
}

const UPGRADE_HINT =
  'Upgrade it with upstream Glance 25.x (Zed) `glance-manage --config-file <glance-api.conf> db_sync`, ' +
  'then start this server again';

async function withMigrationLock<T>(
  conn: PoolConnection,
  database: string,
  waitSeconds: number,
  body: () => Promise<T>,
): Promise<T> {
  // GET_LOCK names are server-wide and at most 64 characters; a digest keeps databases apart within that.
  const name = `glance-schema:${createHash('sha1').update(database).digest('hex')}`;
  const [rows] = await conn.query<RowDataPacket[]>('SELECT GET_LOCK(?, ?) AS got', [name, waitSeconds]);
  if (rows[0]?.got !== 1) {
    throw new Error(
      `Timed out after ${waitSeconds} s waiting for another process to finish migrating database "${database}"`,
    );
  }
  try {
    return await body();
  } finally {
    // A connection that cannot release the lock must not go back to the pool still holding it; closing
    // the session frees the lock just as well.
    await conn.query('SELECT RELEASE_LOCK(?)', [name]).catch(() => conn.destroy());
  }
}

async function createSchema(conn: PoolConnection): Promise<void> {
  const created: string[] = [];
  try {
    for (const table of [...TABLES, ALEMBIC_VERSION_TABLE]) {
      await conn.query(table.ddl);
      created.push(table.name);
    }
    // Written last: a database whose creation stopped half-way has no revision and is refused next time.
    await conn.query('INSERT INTO alembic_version (version_num) VALUES (?)', [SCHEMA_HEAD]);
  } catch (err) {
    // DDL is not transactional; leave the database empty again so the next start can simply retry.
    for (const name of created.reverse()) {
      await conn.query(`DROP TABLE IF EXISTS ${conn.escapeId(name)}`).catch(() => undefined);
    }
    throw err;
  }
}

async function checkRevision(conn: PoolConnection, database: string): Promise<void> {
  const [rows] = await conn.query<RowDataPacket[]>(
    'SELECT version_num FROM alembic_version ORDER BY version_num',
  );
  const found = rows.map((r) => String(r.version_num));
  // glance-manage calls a database synced when the contract head is among its heads; a newer release's
  // expand revision beside it only adds what older code ignores.
  if (found.includes(SCHEMA_HEAD)) return;
  if (found.length === 0) {
    throw new SchemaVersionError(
      `Database "${database}" has an empty alembic_version table, so its schema revision is unknown; ` +
        `this server needs ${SCHEMA_HEAD}. ${UPGRADE_HINT}.`,
      found,
    );
  }
  const list = found.join(', ');
  if (found.every((rev) => OLDER_REVISIONS.has(rev))) {
    throw new SchemaVersionError(
      `Database "${database}" is at Glance alembic revision ${list}, older than the ${SCHEMA_HEAD} this ` +
        `server needs. ${UPGRADE_HINT}.`,
      found,
    );
  }
  throw new SchemaVersionError(
    `Database "${database}" is at alembic revision ${list}, which Glance 25.x (Zed) does not know (a newer ` +
      `Glance, or another application's schema); this server needs ${SCHEMA_HEAD} and will not change it.`,
    found,
  );
}

/**
 * Brings the pool's database to upstream's schema head: creates every table when the database is empty,
 * accepts a database already at the head (made by this code or by upstream db_sync) without changing it,
 * and refuses anything else with a SchemaVersionError. Concurrent callers are serialised with GET_LOCK.
 */
export async function migrate(pool: Pool, opts: MigrateOptions = {}): Promise<MigrateResult> {
  const conn = await pool.getConnection();
  try {
    const [dbRows] = await conn.query<RowDataPacket[]>('SELECT DATABASE() AS db');
    const database = dbRows[0]?.db;
    if (typeof database !== 'string') throw new Error('The database connection selects no database');

    return await withMigrationLock(conn, database, opts.lockWaitSeconds ?? 120, async () => {
      const [tableRows] = await conn.query<RowDataPacket[]>(
        'SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME',
        [database],
      );
      const tables = tableRows.map((r) => String(r.name));
      if (tables.length === 0) {
        await createSchema(conn);
        return { action: 'created' };
      }
      if (!tables.includes(ALEMBIC_VERSION_TABLE.name)) {
        const shown = tables.slice(0, 5).join(', ') + (tables.length > 5 ? ', …' : '');
        throw new SchemaVersionError(
          `Database "${database}" is not empty (${shown}) but has no alembic_version table, so its schema ` +
            `revision is unknown; this server needs ${SCHEMA_HEAD}. Point [database] connection at an empty ` +
            'database or at one kept by upstream `glance-manage db_sync`.',
          [],
        );
      }
      await checkRevision(conn, database);
      return { action: 'up-to-date' };
    });
  } finally {
    conn.release();
  }
}
