import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { Logger } from 'pino';
import { z } from 'zod';
import { nowSeconds } from '../domain/clock.js';
import { pythonJson } from '../domain/python-json.js';

// `glance-manage db_load_metadefs` (glance/db/sqlalchemy/metadata.py, without --merge, --prefer_new or
// --overwrite): each JSON file describes one namespace; a namespace already in the database is skipped whole.
// Rows are written as upstream's loader writes them (no updated_at, seeded resource types protected, object
// `required` lists not stored, schemas as Python's json.dumps), so the API shows loaded definitions the same.

const optionalText = z.string().nullish();

// Only what the loader reads is checked; upstream ignores everything else in a file.
const definitionFile = z.object({
  namespace: z.string().min(1),
  display_name: optionalText,
  description: optionalText,
  visibility: optionalText,
  protected: z.boolean().nullish(),
  owner: z.string().optional(),
  resource_type_associations: z
    .array(z.object({ name: z.string().min(1), prefix: optionalText, properties_target: optionalText }))
    .optional(),
  properties: z.record(z.string(), z.unknown()).optional(),
  objects: z
    .array(
      z.object({ name: z.string().min(1), description: optionalText, properties: z.unknown().optional() }),
    )
    .optional(),
  tags: z.array(z.object({ name: z.string().min(1) })).optional(),
});
type DefinitionFile = z.infer<typeof definitionFile>;

export interface LoadReport {
  loaded: string[];
  /** Namespaces already in the database. */
  skipped: string[];
  /** Files that could not be read, parsed or written. */
  failed: string[];
}

/** The JSON files to load: `source` itself when it is a file, else the .json files in it, by name. */
async function definitionFiles(source: string): Promise<string[]> {
  if ((await stat(source)).isFile()) return [source];
  const entries = await readdir(source, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.json'))
    .map((e) => path.join(source, e.name))
    .sort();
}

async function idOf(conn: PoolConnection, sql: string, params: (string | number)[]): Promise<number | null> {
  const [rows] = await conn.query<RowDataPacket[]>(sql, params);
  return rows[0] ? Number(rows[0].id) : null;
}

// Upstream logs duplicate rows and carries on with the rest of the file.
async function insert(conn: PoolConnection, log: Logger, sql: string, params: unknown[]): Promise<void> {
  try {
    await conn.query<ResultSetHeader>(sql, params);
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ER_DUP_ENTRY') throw err;
    log.warn({ sql: sql.split('(')[0]?.trim() }, 'duplicate entry; row not inserted');
  }
}

async function loadNamespace(conn: PoolConnection, def: DefinitionFile, log: Logger): Promise<boolean> {
  const existing = await idOf(conn, 'SELECT id FROM metadef_namespaces WHERE namespace = ?', [def.namespace]);
  if (existing !== null) return false;
  const now = nowSeconds();
  await insert(
    conn,
    log,
    `INSERT INTO metadef_namespaces (namespace, display_name, description, visibility, protected, owner, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
    [
      def.namespace,
      def.display_name ?? null,
      def.description ?? null,
      def.visibility ?? null,
      def.protected ?? null,
      def.owner ?? 'admin',
      now,
    ],
  );
  const namespaceId = await idOf(conn, 'SELECT id FROM metadef_namespaces WHERE namespace = ?', [
    def.namespace,
  ]);
  if (namespaceId === null) throw new Error(`namespace ${def.namespace} was not created`);

  for (const assoc of def.resource_type_associations ?? []) {
    const findType = (): Promise<number | null> =>
      idOf(conn, 'SELECT id FROM metadef_resource_types WHERE name = ?', [assoc.name]);
    let typeId = await findType();
    if (typeId === null) {
      await insert(
        conn,
        log,
        'INSERT INTO metadef_resource_types (name, created_at, protected) VALUES (?, ?, 1)',
        [assoc.name, now],
      );
      typeId = await findType();
      if (typeId === null) throw new Error(`resource type ${assoc.name} was not created`);
    }
    const [linked] = await conn.query<RowDataPacket[]>(
      'SELECT 1 FROM metadef_namespace_resource_types WHERE namespace_id = ? AND resource_type_id = ?',
      [namespaceId, typeId],
    );
    if (linked.length === 0) {
      await insert(
        conn,
        log,
        `INSERT INTO metadef_namespace_resource_types
           (namespace_id, resource_type_id, properties_target, prefix, created_at) VALUES (?, ?, ?, ?, ?)`,
        [namespaceId, typeId, assoc.properties_target ?? null, assoc.prefix ?? null, now],
      );
    }
  }

  const missing = async (table: string, name: string): Promise<boolean> =>
    (await idOf(conn, `SELECT id FROM ${table} WHERE namespace_id = ? AND name = ?`, [namespaceId, name])) ===
    null;

  for (const [name, schema] of Object.entries(def.properties ?? {})) {
    if (await missing('metadef_properties', name)) {
      await insert(
        conn,
        log,
        'INSERT INTO metadef_properties (name, namespace_id, json_schema, created_at) VALUES (?, ?, ?, ?)',
        [name, namespaceId, pythonJson(schema), now],
      );
    }
  }
  for (const obj of def.objects ?? []) {
    if (await missing('metadef_objects', obj.name)) {
      await insert(
        conn,
        log,
        `INSERT INTO metadef_objects (name, description, namespace_id, json_schema, created_at)
         VALUES (?, ?, ?, ?, ?)`,
        [obj.name, obj.description ?? null, namespaceId, pythonJson(obj.properties ?? null), now],
      );
    }
  }
  for (const tag of def.tags ?? []) {
    if (await missing('metadef_tags', tag.name)) {
      await insert(conn, log, 'INSERT INTO metadef_tags (name, namespace_id, created_at) VALUES (?, ?, ?)', [
        tag.name,
        namespaceId,
        now,
      ]);
    }
  }
  return true;
}

async function readDefinition(file: string): Promise<DefinitionFile> {
  const parsed = definitionFile.safeParse(JSON.parse(await readFile(file, 'utf8')));
  if (!parsed.success) {
    throw new Error(
      parsed.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`).join('; '),
    );
  }
  return parsed.data;
}

/**
 * Loads every definition file of `source` (a directory or one file). Each namespace is written in its own
 * transaction, so a file that fails leaves nothing behind.
 */
export async function loadMetadefs(pool: Pool, source: string, log: Logger): Promise<LoadReport> {
  const report: LoadReport = { loaded: [], skipped: [], failed: [] };
  const files = await definitionFiles(source);
  if (files.length === 0) throw new Error(`no metadata definition (.json) files in ${source}`);
  for (const file of files) {
    let def: DefinitionFile;
    try {
      def = await readDefinition(file);
    } catch (err) {
      log.error({ file, reason: (err as Error).message }, 'cannot read metadata definition file');
      report.failed.push(file);
      continue;
    }
    const conn = await pool.getConnection();
    try {
      await conn.beginTransaction();
      const loaded = await loadNamespace(conn, def, log);
      await conn.commit();
      if (loaded) {
        report.loaded.push(def.namespace);
        log.info({ file, namespace: def.namespace }, 'metadata definition file loaded');
      } else {
        report.skipped.push(def.namespace);
        log.info({ file, namespace: def.namespace }, 'namespace already in the database; skipped');
      }
    } catch (err) {
      await conn.rollback().catch(() => undefined);
      log.error({ file, reason: (err as Error).message }, 'cannot load metadata definition file');
      report.failed.push(file);
    } finally {
      conn.release();
    }
  }
  return report;
}
