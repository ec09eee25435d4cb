import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { Logger } from 'pino';
import type { GlanceConfig } from '../config/index.js';
import { migrate, SchemaVersionError } from '../db/migrate.js';
import { createPool } from '../db/pool.js';
import { loadMetadefs } from '../metadefs/loader.js';

async function databaseIsEmpty(pool: Pool): Promise<boolean> {
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()',
  );
  return Number(rows[0]?.n ?? 0) === 0;
}

/** Verifies (and with `create`, first creates) the schema; the pool is closed afterwards. */
export async function prepareSchema(cfg: GlanceConfig, create: boolean, log: Logger): Promise<void> {
  const pool = createPool(cfg.database.connection, { connectionLimit: 1 });
  try {
    if (!create && (await databaseIsEmpty(pool))) {
      throw new SchemaVersionError(
        'The database is empty. Create the schema with `main.js db-sync --config-file …` (or start with ' +
          '--migrate), or point [database] connection at a database kept by upstream glance-manage db_sync.',
        [],
      );
    }
    const { action } = await migrate(pool);
    log.info({ action }, 'database schema checked');
  } finally {
    await pool.end();
  }
}

/** db-load-metadefs: exit status 1 when a file could not be loaded. */
export async function loadMetadefsCommand(cfg: GlanceConfig, source: string, log: Logger): Promise<void> {
  const pool = createPool(cfg.database.connection, { connectionLimit: 1 });
  try {
    const report = await loadMetadefs(pool, source, log);
    log.info(
      { loaded: report.loaded.length, skipped: report.skipped.length, failed: report.failed.length },
      'metadata definitions loaded',
    );
    if (report.failed.length > 0) process.exitCode = 1;
  } finally {
    await pool.end();
  }
}
