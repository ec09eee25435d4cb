import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import type { Connection, Pool, RowDataPacket } from 'mysql2/promise';
import { createPool } from '../../../../api-server/src/db/pool.js';
import { migrate, SCHEMA_HEAD, SchemaVersionError } from '../../../../api-server/src/db/migrate.js';
import { run } from '../../../harness/run.js';
import { loadStackEnv } from '../../../harness/stack-env.js';

const env = loadStackEnv();
const suffix = `${process.pid}_${randomBytes(4).toString('hex')}`;
const names = {
  upstream: `gt_db_upstream_${suffix}`,
  ours: `gt_db_ours_${suffix}`,
  old: `gt_db_old_${suffix}`,
  unknown: `gt_db_unknown_${suffix}`,
  race: `gt_db_race_${suffix}`,
  foreign: `gt_db_foreign_${suffix}`,
};

function connectionUrl(database: string): string {
  const user = encodeURIComponent(env.DB_ADMIN_USER ?? '');
  const password = encodeURIComponent(env.DB_ADMIN_PASSWORD ?? '');
  return `mysql+pymysql://${user}:${password}@${env.DB_HOST}:${env.DB_PORT}/${database}?charset=utf8`;
}

let admin: Connection;
let tempDir: string;
const pools: Pool[] = [];

function poolFor(database: string): Pool {
  const pool = createPool(connectionUrl(database));
  pools.push(pool);
  return pool;
}

async function rows(sql: string, params: unknown[] = []): Promise<RowDataPacket[]> {
  const [result] = await admin.query<RowDataPacket[]>(sql, params);
  return result;
}

// Everything information_schema says about a database, minus its name, in a stable order.
async function describeSchema(db: string): Promise<Record<string, unknown>> {
  const q = (columns: string, from: string, order: string, schemaColumn = 'TABLE_SCHEMA') =>
    rows(`SELECT ${columns} FROM information_schema.${from} WHERE ${schemaColumn} = ? ORDER BY ${order}`, [
      db,
    ]);
  const tables = await q(
    'TABLE_NAME, TABLE_TYPE, ENGINE, ROW_FORMAT, TABLE_COLLATION, CREATE_OPTIONS, TABLE_COMMENT, AUTO_INCREMENT',
    'TABLES',
    'TABLE_NAME',
  );
  const showCreate: Record<string, string> = {};
  for (const t of tables) {
    const [row] = await rows(
      `SHOW CREATE TABLE ${mysql.escapeId(db)}.${mysql.escapeId(String(t.TABLE_NAME))}`,
    );
    showCreate[String(t.TABLE_NAME)] = String(row?.['Create Table']);
  }
  return {
    tables,
    columns: await q(
      'TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_DEFAULT, IS_NULLABLE, COLUMN_TYPE, ' +
        'CHARACTER_SET_NAME, COLLATION_NAME, COLUMN_KEY, EXTRA, COLUMN_COMMENT',
      'COLUMNS',
      'TABLE_NAME, ORDINAL_POSITION',
    ),
    indexes: await q(
      'TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE, SUB_PART, NULLABLE, INDEX_TYPE',
      'STATISTICS',
      'TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX',
    ),
    constraints: await q(
      'TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE',
      'TABLE_CONSTRAINTS',
      'TABLE_NAME, CONSTRAINT_NAME',
    ),
    keyColumns: await q(
      'TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, ORDINAL_POSITION, POSITION_IN_UNIQUE_CONSTRAINT, ' +
        'REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME',
      'KEY_COLUMN_USAGE',
      'TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION',
    ),
    foreignKeys: await q(
      'TABLE_NAME, CONSTRAINT_NAME, REFERENCED_TABLE_NAME, UNIQUE_CONSTRAINT_NAME, MATCH_OPTION, UPDATE_RULE, DELETE_RULE',
      'REFERENTIAL_CONSTRAINTS',
      'TABLE_NAME, CONSTRAINT_NAME',
      'CONSTRAINT_SCHEMA',
    ),
    checks: await q(
      'TABLE_NAME, CONSTRAINT_NAME, LEVEL, CHECK_CLAUSE',
      'CHECK_CONSTRAINTS',
      'TABLE_NAME, CONSTRAINT_NAME',
      'CONSTRAINT_SCHEMA',
    ),
    triggers: await q('TRIGGER_NAME, EVENT_OBJECT_TABLE', 'TRIGGERS', 'TRIGGER_NAME', 'TRIGGER_SCHEMA'),
    showCreate,
    alembicVersion: showCreate.alembic_version
      ? (await rows(`SELECT version_num FROM ${mysql.escapeId(db)}.alembic_version`)).map(
          (r) => r.version_num,
        )
      : null,
  };
}

async function dbSyncUpstream(database: string): Promise<void> {
  const conf = join(tempDir, `${database}.conf`);
  // The percent-encoded URL holds no '$', so oslo.config's interpolation leaves it alone.
  await writeFile(conf, `[DEFAULT]\n[database]\nconnection = ${connectionUrl(database)}\n`, { mode: 0o600 });
  await run('glance-manage', ['--config-file', conf, 'db_sync'], { timeoutMs: 120_000 });
}

let upstreamSchema: Record<string, unknown>;

beforeAll(async () => {
  admin = await mysql.createConnection({
    host: env.DB_HOST,
    port: Number(env.DB_PORT),
    user: env.DB_ADMIN_USER,
    password: env.DB_ADMIN_PASSWORD,
  });
  tempDir = await mkdtemp(join(tmpdir(), 'glance-db-test-'));
  for (const db of Object.values(names)) await admin.query(`CREATE DATABASE ${mysql.escapeId(db)}`);
  await dbSyncUpstream(names.upstream);
  upstreamSchema = await describeSchema(names.upstream);
});

afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  if (admin) {
    for (const db of Object.values(names)) await admin.query(`DROP DATABASE IF EXISTS ${mysql.escapeId(db)}`);
    await admin.end();
  }
  if (tempDir) await rm(tempDir, { recursive: true, force: true });
});

describe('migrate() against upstream glance-manage db_sync on MariaDB', () => {
  it('upstream db_sync produced the Zed schema (sanity check of the reference)', () => {
    expect(Object.keys(upstreamSchema.showCreate as object)).toHaveLength(14);
    expect(upstreamSchema.alembicVersion).toEqual([SCHEMA_HEAD]);
  });

  it('creates on an empty database exactly what upstream db_sync creates', async () => {
    await expect(migrate(poolFor(names.ours))).resolves.toEqual({ action: 'created' });
    expect(await describeSchema(names.ours)).toEqual(upstreamSchema);
  });

  it('answers up-to-date on its own database and changes nothing', async () => {
    const before = await describeSchema(names.ours);
    await expect(migrate(poolFor(names.ours))).resolves.toEqual({ action: 'up-to-date' });
    expect(await describeSchema(names.ours)).toEqual(before);
  });

  it('answers up-to-date on the database upstream created and changes neither schema nor rows', async () => {
    await admin.query(
      `INSERT INTO ${mysql.escapeId(names.upstream)}.images (id, name, status, created_at, deleted, min_disk, min_ram) ` +
        "VALUES ('5d0b9bd3-6f6e-4a43-9c50-4f6bd7a0a5b1', 'cirros', 'queued', '2024-01-02 03:04:05', 0, 0, 0)",
    );
    await expect(migrate(poolFor(names.upstream))).resolves.toEqual({ action: 'up-to-date' });
    expect(await describeSchema(names.upstream)).toEqual(upstreamSchema);
    const images = await rows(`SELECT id, name, visibility FROM ${mysql.escapeId(names.upstream)}.images`);
    expect(images).toEqual([
      { id: '5d0b9bd3-6f6e-4a43-9c50-4f6bd7a0a5b1', name: 'cirros', visibility: 'shared' },
    ]);
  });

  it('refuses a database at an older revision, naming both revisions and db_sync', async () => {
    const pool = poolFor(names.old);
    await migrate(pool);
    await admin.query(
      `UPDATE ${mysql.escapeId(names.old)}.alembic_version SET version_num = 'rocky_contract02'`,
    );
    const before = await describeSchema(names.old);
    const err = await migrate(pool).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SchemaVersionError);
    expect((err as SchemaVersionError).found).toEqual(['rocky_contract02']);
    expect((err as Error).message).toMatch(/rocky_contract02.*wallaby_contract01.*glance-manage .*db_sync/s);
    expect(await describeSchema(names.old)).toEqual(before);
  });

  it('refuses a revision upstream Zed does not know', async () => {
    const pool = poolFor(names.unknown);
    await migrate(pool);
    await admin.query(
      `UPDATE ${mysql.escapeId(names.unknown)}.alembic_version SET version_num = '2024_1_expand01'`,
    );
    await expect(migrate(pool)).rejects.toThrow(/2024_1_expand01.*does not know.*wallaby_contract01/s);
  });

  it('refuses a non-empty database without alembic_version and leaves it alone', async () => {
    await admin.query(`CREATE TABLE ${mysql.escapeId(names.foreign)}.orders (id INT PRIMARY KEY)`);
    await expect(migrate(poolFor(names.foreign))).rejects.toThrow(
      /not empty \(orders\) but has no alembic_version.*wallaby_contract01/s,
    );
    const tables = await rows('SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [
      names.foreign,
    ]);
    expect(tables.map((t) => t.TABLE_NAME)).toEqual(['orders']);
  });

  it('lets two replicas starting at once on an empty database both succeed', async () => {
    // Two pools are two MySQL sessions, which is all GET_LOCK tells apart: the same as two processes.
    const results = await Promise.all([migrate(poolFor(names.race)), migrate(poolFor(names.race))]);
    expect(results.map((r) => r.action).sort()).toEqual(['created', 'up-to-date']);
    expect(await describeSchema(names.race)).toEqual(upstreamSchema);
  });
});

describe('createPool sessions on MariaDB', () => {
  it('reads DATETIME columns as UTC instants and writes Dates back unchanged', async () => {
    const pool = poolFor(names.ours);
    const id = '0b5c5e1e-1d3c-4a56-8a6e-0d6f1f8f1a11';
    const created = new Date('2024-06-30T23:59:58.000Z');
    await pool.query(
      'INSERT INTO images (id, name, status, created_at, deleted, min_disk, min_ram) VALUES (?, ?, ?, ?, 0, 0, 0)',
      [id, 'Ünïcødé ✓ image', 'queued', created],
    );
    const [raw] = await admin.query<RowDataPacket[]>(
      `SELECT CAST(created_at AS CHAR) AS text FROM ${mysql.escapeId(names.ours)}.images WHERE id = ?`,
      [id],
    );
    expect(raw[0]?.text).toBe('2024-06-30 23:59:58');
    const [back] = await pool.query<RowDataPacket[]>('SELECT name, created_at FROM images WHERE id = ?', [
      id,
    ]);
    expect(back[0]?.name).toBe('Ünïcødé ✓ image');
    expect(back[0]?.created_at).toBeInstanceOf(Date);
    expect((back[0]?.created_at as Date).toISOString()).toBe('2024-06-30T23:59:58.000Z');
  });

  it('runs in UTC with oslo.db’s TRADITIONAL sql_mode', async () => {
    const [session] = await poolFor(names.ours).query<RowDataPacket[]>(
      'SELECT @@session.time_zone AS tz, @@session.sql_mode AS mode',
    );
    expect(session[0]?.tz).toBe('+00:00');
    expect(String(session[0]?.mode).split(',')).toEqual(
      expect.arrayContaining(['STRICT_ALL_TABLES', 'TRADITIONAL']),
    );
  });
});
