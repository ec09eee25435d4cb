// Metadata definition rows as upstream's metadef tables hold them (glance/db/sqlalchemy/models_metadef.py).

/** A metadef_namespaces row, with the domain defaults upstream applies on reading (private, unprotected). */
export interface NamespaceRecord {
  id: number;
  namespace: string;
  display_name: string | null;
  description: string | null;
  visibility: string;
  protected: boolean;
  owner: string;
  created_at: Date;
  updated_at: Date | null;
}

/** The columns a namespace create or update writes. */
export interface NamespaceValues {
  namespace: string;
  display_name: string | null;
  description: string | null;
  visibility: string;
  protected: boolean;
  owner: string;
}

export interface ObjectRecord {
  id: number;
  name: string;
  description: string | null;
  /** Comma-separated property names, or null. */
  required: string | null;
  /** JSON text: property name → property schema. */
  json_schema: string;
  created_at: Date;
  updated_at: Date | null;
}

export interface ObjectValues {
  name: string;
  description: string | null;
  required: string | null;
  json_schema: string;
}

export interface PropertyRecord {
  id: number;
  name: string;
  /** JSON text of the property schema. */
  json_schema: string;
  created_at: Date;
  updated_at: Date | null;
}

export interface TagRecord {
  id: number;
  name: string;
  created_at: Date;
  updated_at: Date | null;
}

export interface ResourceTypeRecord {
  id: number;
  name: string;
  protected: boolean;
  created_at: Date;
  updated_at: Date | null;
}

/** A namespace's association with a resource type, under the resource type's name. */
export interface AssociationRecord {
  resource_type_id: number;
  name: string;
  prefix: string | null;
  properties_target: string | null;
  created_at: Date;
  updated_at: Date | null;
}

/** Who is asking, as the metadef database layer sees it. */
export interface MetadefScope {
  projectId: string | null;
  isAdmin: boolean;
}

/** metadef_namespaces columns, the sort keys oslo.db's paginate_query accepts. */
export const NAMESPACE_COLUMNS = [
  'id',
  'namespace',
  'display_name',
  'description',
  'visibility',
  'protected',
  'owner',
  'created_at',
  'updated_at',
] as const;
export type NamespaceColumn = (typeof NAMESPACE_COLUMNS)[number];

export const TAG_COLUMNS = ['id', 'namespace_id', 'name', 'created_at', 'updated_at'] as const;
export type TagColumn = (typeof TAG_COLUMNS)[number];

export type SortDir = 'asc' | 'desc';

export interface NamespaceListQuery {
  limit: number;
  marker: string | null;
  /** Upstream's sort keys: the requested one, then created_at and id as tie-breakers. */
  sortKeys: NamespaceColumn[];
  sortDir: SortDir;
  /** The first `visibility` given, which upstream filters on (any text; the last one was checked). */
  visibility: string | null;
  /** Names from `resource_types=a,b`: only namespaces associated with one of them. */
  resourceTypes: string[] | null;
}

export interface TagListQuery {
  limit: number | null;
  marker: string | null;
  sortKeys: TagColumn[];
  sortDir: SortDir;
}

/** The paging position after a marker row: its values for every sort key. */
export type SortPosition = Record<string, string | number | boolean | Date | null>;
