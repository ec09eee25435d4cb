import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { transaction } from './pool.js';
import type {
  AssociationRecord,
  MetadefScope,
  NamespaceListQuery,
  NamespaceRecord,
  NamespaceValues,
  ObjectRecord,
  ObjectValues,
  PropertyRecord,
  ResourceTypeRecord,
  SortDir,
  TagListQuery,
  TagRecord,
} from '../domain/metadef-types.js';

// Upstream's metadef database layer (glance/db/sqlalchemy/metadef_api/*.py) over the same tables. Lookups by
// name use the columns' collation, as upstream's do, so names match case-insensitively. Lists without an
// ORDER BY upstream are issued here in the same shape, so the server returns rows in the same order.

type Queryable = Pool | PoolConnection;
type Param = string | number | boolean | Date | null;

/** A write that would break a unique key: the name is taken. */
export class DuplicateError extends Error {
  constructor(readonly taken: string) {
    super(`duplicate metadef name ${taken}`);
  }
}

function isDuplicate(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ER_DUP_ENTRY';
}

const NAMESPACE_COLUMNS =
  'id, namespace, display_name, description, visibility, protected, owner, created_at, updated_at';

interface NamespaceRow extends RowDataPacket {
  id: number;
  namespace: string;
  display_name: string | null;
  description: string | null;
  visibility: string | null;
  protected: number | null;
  owner: string;
  created_at: Date;
  updated_at: Date | null;
}

// glance.domain.MetadefNamespace: a row without visibility is private, one without protected is not.
function toNamespace(row: NamespaceRow): NamespaceRecord {
  return {
    id: row.id,
    namespace: row.namespace,
    display_name: row.display_name,
    description: row.description,
    visibility: row.visibility || 'private',
    protected: Boolean(row.protected),
    owner: row.owner,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** oslo.db paginate_query's marker criteria: rows strictly after the marker in the sort order. */
function afterMarker(
  keys: readonly string[],
  dir: SortDir,
  marker: Record<string, Param>,
  params: Param[],
): string {
  const criteria: string[] = [];
  keys.forEach((key, i) => {
    const value = marker[key] ?? null;
    if (value === null) return;
    const parts: string[] = [];
    for (const prior of keys.slice(0, i)) {
      const priorValue = marker[prior] ?? null;
      if (priorValue === null) continue;
      parts.push(`${prior} = ?`);
      params.push(priorValue);
    }
    parts.push(`${key} ${dir === 'desc' ? '<' : '>'} ?`);
    params.push(value);
    criteria.push(`(${parts.join(' AND ')})`);
  });
  return criteria.length > 0 ? `(${criteria.join(' OR ')})` : 'TRUE';
}

function orderBy(keys: readonly string[], dir: SortDir): string {
  return keys.map((k) => `${k} ${dir === 'desc' ? 'DESC' : 'ASC'}`).join(', ');
}

export class MetadefRepository {
  constructor(private readonly pool: Pool) {}

  // ---- namespaces

  /** The namespace with this name (collation-insensitive), whoever may see it. */
  async namespace(name: string): Promise<NamespaceRecord | null> {
    const [rows] = await this.pool.query<NamespaceRow[]>(
      `SELECT ${NAMESPACE_COLUMNS} FROM metadef_namespaces WHERE namespace = ?`,
      [name],
    );
    return rows[0] ? toNamespace(rows[0]) : null;
  }

  /** One page of the namespaces `scope` may see (upstream's _select_namespaces_query and _get_all). */
  async listNamespaces(
    scope: MetadefScope,
    query: NamespaceListQuery,
    marker: NamespaceRecord | null,
  ): Promise<NamespaceRecord[]> {
    const params: Param[] = [];
    const where: string[] = [];
    if (!scope.isAdmin) {
      if (scope.projectId !== null) {
        where.push("(owner = ? OR visibility = 'public')");
        params.push(scope.projectId);
      } else {
        where.push("visibility = 'public'");
      }
    }
    if (query.visibility !== null) {
      where.push('visibility = ?');
      params.push(query.visibility);
    }
    if (query.resourceTypes !== null) {
      where.push(
        `id IN (SELECT a.namespace_id FROM metadef_resource_types rt
                  JOIN metadef_namespace_resource_types a ON rt.id = a.resource_type_id
                 WHERE rt.name IN (${query.resourceTypes.map(() => '?').join(', ')}))`,
      );
      params.push(...query.resourceTypes);
    }
    if (marker !== null) {
      const position: Record<string, Param> = { ...marker, protected: Number(marker.protected) };
      where.push(afterMarker(query.sortKeys, query.sortDir, position, params));
    }
    params.push(query.limit);
    const [rows] = await this.pool.query<NamespaceRow[]>(
      `SELECT ${NAMESPACE_COLUMNS} FROM metadef_namespaces
        ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY ${orderBy(query.sortKeys, query.sortDir)} LIMIT ?`,
      params,
    );
    return rows.map(toNamespace);
  }

  /** Inserts a namespace; DuplicateError when the name is taken. */
  async createNamespace(values: NamespaceValues, now: Date): Promise<NamespaceRecord> {
    try {
      const [result] = await this.pool.query<ResultSetHeader>(
        `INSERT INTO metadef_namespaces
           (namespace, display_name, description, visibility, protected, owner, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          values.namespace,
          values.display_name,
          values.description,
          values.visibility,
          values.protected,
          values.owner,
          now,
          now,
        ],
      );
      return { id: result.insertId, ...values, created_at: now, updated_at: now };
    } catch (err) {
      if (isDuplicate(err)) throw new DuplicateError(values.namespace);
      throw err;
    }
  }

  /** Rewrites a namespace's columns; DuplicateError when the new name is taken. */
  async updateNamespace(id: number, values: NamespaceValues, now: Date): Promise<void> {
    try {
      await this.pool.query(
        `UPDATE metadef_namespaces SET namespace = ?, display_name = ?, description = ?, visibility = ?,
                protected = ?, owner = ?, updated_at = ? WHERE id = ?`,
        [
          values.namespace,
          values.display_name,
          values.description,
          values.visibility,
          values.protected,
          values.owner,
          now,
          id,
        ],
      );
    } catch (err) {
      if (isDuplicate(err)) throw new DuplicateError(values.namespace);
      throw err;
    }
  }

  /** The namespace and everything in it, in one transaction (upstream's delete_cascade). */
  async deleteNamespace(id: number): Promise<boolean> {
    return transaction(this.pool, async (conn) => {
      for (const table of [
        'metadef_tags',
        'metadef_objects',
        'metadef_properties',
        'metadef_namespace_resource_types',
      ]) {
        await conn.query(`DELETE FROM ${table} WHERE namespace_id = ?`, [id]);
      }
      const [result] = await conn.query<ResultSetHeader>('DELETE FROM metadef_namespaces WHERE id = ?', [id]);
      return result.affectedRows > 0;
    });
  }

  /** Empties one kind of content of a namespace. */
  async deleteContent(namespaceId: number, kind: 'objects' | 'properties' | 'tags'): Promise<void> {
    await this.pool.query(`DELETE FROM metadef_${kind} WHERE namespace_id = ?`, [namespaceId]);
  }

  // ---- objects

  private async objectRows(db: Queryable, where: string, params: Param[]): Promise<ObjectRecord[]> {
    const [rows] = await db.query<(RowDataPacket & ObjectRecord)[]>(
      `SELECT created_at, updated_at, id, namespace_id, name, description, required, json_schema
         FROM metadef_objects WHERE ${where}`,
      params,
    );
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      description: r.description,
      required: r.required,
      json_schema: r.json_schema,
      created_at: r.created_at,
      updated_at: r.updated_at,
    }));
  }

  async objects(namespaceId: number): Promise<ObjectRecord[]> {
    return this.objectRows(this.pool, 'namespace_id = ?', [namespaceId]);
  }

  async object(namespaceId: number, name: string): Promise<ObjectRecord | null> {
    const [row] = await this.objectRows(this.pool, 'namespace_id = ? AND name = ?', [namespaceId, name]);
    return row ?? null;
  }

  async createObject(namespaceId: number, values: ObjectValues, now: Date): Promise<ObjectRecord> {
    try {
      const [result] = await this.pool.query<ResultSetHeader>(
        `INSERT INTO metadef_objects (namespace_id, name, description, required, json_schema, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
        [namespaceId, values.name, values.description, values.required, values.json_schema, now, now],
      );
      return { id: result.insertId, ...values, created_at: now, updated_at: now };
    } catch (err) {
      if (isDuplicate(err)) throw new DuplicateError(values.name);
      throw err;
    }
  }

  async updateObject(id: number, values: ObjectValues, now: Date): Promise<void> {
    try {
      await this.pool.query(
        `UPDATE metadef_objects SET name = ?, description = ?, required = ?, json_schema = ?, updated_at = ?
          WHERE id = ?`,
        [values.name, values.description, values.required, values.json_schema, now, id],
      );
    } catch (err) {
      if (isDuplicate(err)) throw new DuplicateError(values.name);
      throw err;
    }
  }

  async deleteObject(id: number): Promise<boolean> {
    const [result] = await this.pool.query<ResultSetHeader>('DELETE FROM metadef_objects WHERE id = ?', [id]);
    return result.affectedRows > 0;
  }

  // ---- properties

  private async propertyRows(where: string, params: Param[]): Promise<PropertyRecord[]> {
    const [rows] = await this.pool.query<(RowDataPacket & PropertyRecord)[]>(
      `SELECT created_at, updated_at, id, namespace_id, name, json_schema FROM metadef_properties WHERE ${where}`,
      params,
    );
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      json_schema: r.json_schema,
      created_at: r.created_at,
      updated_at: r.updated_at,
    }));
  }

  async properties(namespaceId: number): Promise<PropertyRecord[]> {
    return this.propertyRows('namespace_id = ?', [namespaceId]);
  }

  async property(namespaceId: number, name: string): Promise<PropertyRecord | null> {
    const [row] = await this.propertyRows('namespace_id = ? AND name = ?', [namespaceId, name]);
    return row ?? null;
  }

  async createProperty(
    namespaceId: number,
    name: string,
    schema: string,
    now: Date,
  ): Promise<PropertyRecord> {
    try {
      const [result] = await this.pool.query<ResultSetHeader>(
        `INSERT INTO metadef_properties (namespace_id, name, json_schema, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?)`,
        [namespaceId, name, schema, now, now],
      );
      return { id: result.insertId, name, json_schema: schema, created_at: now, updated_at: now };
    } catch (err) {
      if (isDuplicate(err)) throw new DuplicateError(name);
      throw err;
    }
  }

  async updateProperty(id: number, name: string, schema: string, now: Date): Promise<void> {
    try {
      await this.pool.query(
        'UPDATE metadef_properties SET name = ?, json_schema = ?, updated_at = ? WHERE id = ?',
        [name, schema, now, id],
      );
    } catch (err) {
      if (isDuplicate(err)) throw new DuplicateError(name);
      throw err;
    }
  }

  async deleteProperty(id: number): Promise<boolean> {
    const [result] = await this.pool.query<ResultSetHeader>('DELETE FROM metadef_properties WHERE id = ?', [
      id,
    ]);
    return result.affectedRows > 0;
  }

  // ---- tags

  async tag(namespaceId: number, name: string): Promise<TagRecord | null> {
    const [rows] = await this.pool.query<(RowDataPacket & TagRecord)[]>(
      'SELECT id, name, created_at, updated_at FROM metadef_tags WHERE namespace_id = ? AND name = ?',
      [namespaceId, name],
    );
    return rows[0] ?? null;
  }

  /** A page of a namespace's tags; `marker` is a tag of the namespace. */
  async tags(namespaceId: number, query: TagListQuery, marker: TagRecord | null): Promise<TagRecord[]> {
    const params: Param[] = [namespaceId];
    const where = ['namespace_id = ?'];
    if (marker !== null) {
      const position: Record<string, Param> = { ...marker, namespace_id: namespaceId };
      where.push(afterMarker(query.sortKeys, query.sortDir, position, params));
    }
    let limit = '';
    if (query.limit !== null) {
      limit = ' LIMIT ?';
      params.push(query.limit);
    }
    const [rows] = await this.pool.query<(RowDataPacket & TagRecord)[]>(
      `SELECT id, name, created_at, updated_at FROM metadef_tags WHERE ${where.join(' AND ')}
        ORDER BY ${orderBy(query.sortKeys, query.sortDir)}${limit}`,
      params,
    );
    return rows.map((r) => ({ id: r.id, name: r.name, created_at: r.created_at, updated_at: r.updated_at }));
  }

  async createTag(namespaceId: number, name: string, now: Date): Promise<TagRecord> {
    try {
      const [result] = await this.pool.query<ResultSetHeader>(
        'INSERT INTO metadef_tags (namespace_id, name, created_at, updated_at) VALUES (?, ?, ?, ?)',
        [namespaceId, name, now, now],
      );
      return { id: result.insertId, name, created_at: now, updated_at: now };
    } catch (err) {
      if (isDuplicate(err)) throw new DuplicateError(name);
      throw err;
    }
  }

  /**
   * Adds `names` in one transaction, first removing every tag of the namespace unless `append`; nothing
   * changes when one of them is a duplicate (DuplicateError names it).
   */
  async createTags(namespaceId: number, names: string[], append: boolean, now: Date): Promise<void> {
    await transaction(this.pool, async (conn) => {
      if (!append) await conn.query('DELETE FROM metadef_tags WHERE namespace_id = ?', [namespaceId]);
      for (const name of names) {
        try {
          await conn.query(
            'INSERT INTO metadef_tags (namespace_id, name, created_at, updated_at) VALUES (?, ?, ?, ?)',
            [namespaceId, name, now, now],
          );
        } catch (err) {
          if (isDuplicate(err)) throw new DuplicateError(name);
          throw err;
        }
      }
    });
  }

  async updateTag(id: number, name: string, now: Date): Promise<void> {
    try {
      await this.pool.query('UPDATE metadef_tags SET name = ?, updated_at = ? WHERE id = ?', [name, now, id]);
    } catch (err) {
      if (isDuplicate(err)) throw new DuplicateError(name);
      throw err;
    }
  }

  async deleteTag(id: number): Promise<boolean> {
    const [result] = await this.pool.query<ResultSetHeader>('DELETE FROM metadef_tags WHERE id = ?', [id]);
    return result.affectedRows > 0;
  }

  // ---- resource types

  async resourceTypes(): Promise<ResourceTypeRecord[]> {
    const [rows] = await this.pool.query<(RowDataPacket & ResourceTypeRecord)[]>(
      'SELECT created_at, updated_at, id, name, protected FROM metadef_resource_types',
    );
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      protected: Boolean(r.protected),
      created_at: r.created_at,
      updated_at: r.updated_at,
    }));
  }

  async associations(namespaceId: number): Promise<AssociationRecord[]> {
    const [rows] = await this.pool.query<(RowDataPacket & AssociationRecord)[]>(
      `SELECT metadef_resource_types.name, metadef_namespace_resource_types.properties_target,
              metadef_namespace_resource_types.prefix, metadef_namespace_resource_types.created_at,
              metadef_namespace_resource_types.updated_at, metadef_namespace_resource_types.resource_type_id
         FROM metadef_resource_types
         JOIN metadef_namespace_resource_types
           ON metadef_resource_types.id = metadef_namespace_resource_types.resource_type_id
        WHERE metadef_namespace_resource_types.namespace_id = ?`,
      [namespaceId],
    );
    return rows.map((r) => ({
      resource_type_id: r.resource_type_id,
      name: r.name,
      prefix: r.prefix,
      properties_target: r.properties_target,
      created_at: r.created_at,
      updated_at: r.updated_at,
    }));
  }

  async resourceType(name: string): Promise<ResourceTypeRecord | null> {
    const [rows] = await this.pool.query<(RowDataPacket & ResourceTypeRecord)[]>(
      'SELECT id, name, protected, created_at, updated_at FROM metadef_resource_types WHERE name = ?',
      [name],
    );
    const row = rows[0];
    return row ? { ...row, protected: Boolean(row.protected) } : null;
  }

  /** The association of the namespace with the named resource type, or why there is none. */
  async association(
    namespaceId: number,
    resourceType: string,
  ): Promise<AssociationRecord | 'no-resource-type' | 'not-associated'> {
    const type = await this.resourceType(resourceType);
    if (type === null) return 'no-resource-type';
    const [rows] = await this.pool.query<(RowDataPacket & AssociationRecord)[]>(
      `SELECT resource_type_id, prefix, properties_target, created_at, updated_at
         FROM metadef_namespace_resource_types WHERE namespace_id = ? AND resource_type_id = ?`,
      [namespaceId, type.id],
    );
    const row = rows[0];
    if (!row) return 'not-associated';
    return { ...row, name: resourceType };
  }

  /**
   * Associates the namespace with a resource type, creating an unprotected resource type first if none has
   * the name; DuplicateError when the namespace already has the association.
   */
  async associate(
    namespaceId: number,
    values: { name: string; prefix: string | null; properties_target: string | null },
    now: Date,
  ): Promise<AssociationRecord> {
    let type = await this.resourceType(values.name);
    if (type === null) {
      try {
        await this.pool.query(
          'INSERT INTO metadef_resource_types (name, protected, created_at, updated_at) VALUES (?, 0, ?, ?)',
          [values.name, now, now],
        );
      } catch (err) {
        // Created meanwhile by another request: use that one.
        if (!isDuplicate(err)) throw err;
      }
      type = await this.resourceType(values.name);
      if (type === null) throw new Error(`resource type ${values.name} vanished while being associated`);
    }
    try {
      await this.pool.query(
        `INSERT INTO metadef_namespace_resource_types
           (resource_type_id, namespace_id, properties_target, prefix, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
        [type.id, namespaceId, values.properties_target, values.prefix, now, now],
      );
    } catch (err) {
      if (isDuplicate(err)) throw new DuplicateError(values.name);
      throw err;
    }
    return { resource_type_id: type.id, ...values, created_at: now, updated_at: now };
  }

  async dissociate(namespaceId: number, resourceTypeId: number): Promise<boolean> {
    const [result] = await this.pool.query<ResultSetHeader>(
      'DELETE FROM metadef_namespace_resource_types WHERE namespace_id = ? AND resource_type_id = ?',
      [namespaceId, resourceTypeId],
    );
    return result.affectedRows > 0;
  }
}
