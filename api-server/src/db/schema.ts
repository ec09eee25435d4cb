/**
 * Upstream Glance 25.x (Zed) schema as `glance-manage db_sync` leaves it: the Liberty tables
 * (glance/db/sqlalchemy/alembic_migrations/add_*_tables.py) with every later migration folded in, written in
 * the SQL SQLAlchemy's MySQL dialect emits for them so any server builds exactly what it builds for upstream.
 *
 * Folded in: mitaka01 (created_at/updated_at indexes), ocata expand/contract (is_public replaced by the
 * visibility enum), pike_contract01 (glare artifact tables dropped), rocky expand01/02 (os_hidden,
 * os_hash_*), wallaby_expand01 (tasks.image_id/request_id/user_id). Index order follows the order upstream
 * created them, so SHOW CREATE TABLE matches too.
 *
 * CHECK constraints come from glance's Boolean(create_constraint=True). MariaDB numbers unnamed ones per
 * table; images keeps CONSTRAINT_2/3 because CONSTRAINT_1 guarded the dropped is_public column.
 * Foreign keys carry the names InnoDB gives unnamed ones.
 */

/** The alembic revision db_sync writes: the head of upstream's contract branch. */
export const SCHEMA_HEAD = 'wallaby_contract01';

/**
 * Every revision upstream Zed knows below its head, plus the pre-Pike branch labels that
 * glance-manage rewrites (alembic_migrations.get_current_alembic_heads). Found in a database, these
 * mean "upgrade with upstream db_sync"; anything else is a schema this server does not know.
 */
export const OLDER_REVISIONS: ReadonlySet<string> = new Set([
  'liberty',
  'mitaka01',
  'mitaka02',
  'ocata01',
  'ocata_expand01',
  'ocata_contract01',
  'pike01',
  'pike_expand01',
  'pike_contract01',
  'queens_expand01',
  'queens_contract01',
  'rocky_expand01',
  'rocky_expand02',
  'rocky_contract01',
  'rocky_contract02',
  'train_expand01',
  'train_contract01',
  'ussuri_expand01',
  'ussuri_contract01',
  'wallaby_expand01',
]);

export interface TableDefinition {
  readonly name: string;
  readonly ddl: string;
}

// Upstream asks for CHARSET=utf8 (mysql_charset='utf8'); saying the same lets the server's old_mode decide
// what utf8 means, as it does for upstream (utf8mb3 on MariaDB 10.x).
const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8';

/** Tables in creation order: every table after the tables its foreign keys reference. */
export const TABLES: readonly TableDefinition[] = [
  {
    name: 'images',
    ddl: `CREATE TABLE images (
  id VARCHAR(36) NOT NULL,
  name VARCHAR(255),
  size BIGINT,
  status VARCHAR(30) NOT NULL,
  created_at DATETIME NOT NULL,
  updated_at DATETIME,
  deleted_at DATETIME,
  deleted BOOL NOT NULL,
  disk_format VARCHAR(20),
  container_format VARCHAR(20),
  checksum VARCHAR(32),
  owner VARCHAR(255),
  min_disk INTEGER NOT NULL,
  min_ram INTEGER NOT NULL,
  protected BOOL NOT NULL DEFAULT false,
  virtual_size BIGINT,
  visibility ENUM('private','public','shared','community') NOT NULL DEFAULT 'shared',
  os_hidden BOOL NOT NULL DEFAULT false,
  os_hash_algo VARCHAR(64),
  os_hash_value VARCHAR(128),
  PRIMARY KEY (id),
  INDEX checksum_image_idx (checksum),
  INDEX ix_images_deleted (deleted),
  INDEX owner_image_idx (owner),
  INDEX created_at_image_idx (created_at),
  INDEX updated_at_image_idx (updated_at),
  INDEX visibility_image_idx (visibility),
  INDEX os_hidden_image_idx (os_hidden),
  INDEX os_hash_value_image_idx (os_hash_value),
  CONSTRAINT CONSTRAINT_2 CHECK (deleted IN (0, 1)),
  CONSTRAINT CONSTRAINT_3 CHECK (protected IN (0, 1))
) ${TABLE_OPTIONS}`,
  },
  {
    name: 'image_properties',
    ddl: `CREATE TABLE image_properties (
  id INTEGER NOT NULL AUTO_INCREMENT,
  image_id VARCHAR(36) NOT NULL,
  name VARCHAR(255) NOT NULL,
  value TEXT,
  created_at DATETIME NOT NULL,
  updated_at DATETIME,
  deleted_at DATETIME,
  deleted BOOL NOT NULL,
  PRIMARY KEY (id),
  CONSTRAINT ix_image_properties_image_id_name UNIQUE (image_id, name),
  INDEX ix_image_properties_deleted (deleted),
  INDEX ix_image_properties_image_id (image_id),
  CONSTRAINT image_properties_ibfk_1 FOREIGN KEY (image_id) REFERENCES images (id),
  CONSTRAINT CONSTRAINT_1 CHECK (deleted IN (0, 1))
) ${TABLE_OPTIONS}`,
  },
  {
    name: 'image_locations',
    ddl: `CREATE TABLE image_locations (
  id INTEGER NOT NULL AUTO_INCREMENT,
  image_id VARCHAR(36) NOT NULL,
  value TEXT NOT NULL,
  created_at DATETIME NOT NULL,
  updated_at DATETIME,
  deleted_at DATETIME,
  deleted BOOL NOT NULL,
  meta_data TEXT,
  status VARCHAR(30) NOT NULL DEFAULT 'active',
  PRIMARY KEY (id),
  INDEX ix_image_locations_deleted (deleted),
  INDEX ix_image_locations_image_id (image_id),
  CONSTRAINT image_locations_ibfk_1 FOREIGN KEY (image_id) REFERENCES images (id),
  CONSTRAINT CONSTRAINT_1 CHECK (deleted IN (0, 1))
) ${TABLE_OPTIONS}`,
  },
  {
    name: 'image_members',
    ddl: `CREATE TABLE image_members (
  id INTEGER NOT NULL AUTO_INCREMENT,
  image_id VARCHAR(36) NOT NULL,
  \`member\` VARCHAR(255) NOT NULL,
  can_share BOOL NOT NULL,
  created_at DATETIME NOT NULL,
  updated_at DATETIME,
  deleted_at DATETIME,
  deleted BOOL NOT NULL,
  status VARCHAR(20) NOT NULL DEFAULT 'pending',
  PRIMARY KEY (id),
  CONSTRAINT image_members_image_id_member_deleted_at_key UNIQUE (image_id, \`member\`, deleted_at),
  INDEX ix_image_members_deleted (deleted),
  INDEX ix_image_members_image_id (image_id),
  INDEX ix_image_members_image_id_member (image_id, \`member\`),
  CONSTRAINT image_members_ibfk_1 FOREIGN KEY (image_id) REFERENCES images (id),
  CONSTRAINT CONSTRAINT_1 CHECK (can_share IN (0, 1)),
  CONSTRAINT CONSTRAINT_2 CHECK (deleted IN (0, 1))
) ${TABLE_OPTIONS}`,
  },
  {
    name: 'image_tags',
    ddl: `CREATE TABLE image_tags (
  id INTEGER NOT NULL AUTO_INCREMENT,
  image_id VARCHAR(36) NOT NULL,
  value VARCHAR(255) NOT NULL,
  created_at DATETIME NOT NULL,
  updated_at DATETIME,
  deleted_at DATETIME,
  deleted BOOL NOT NULL,
  PRIMARY KEY (id),
  INDEX ix_image_tags_image_id (image_id),
  INDEX ix_image_tags_image_id_tag_value (image_id, value),
  CONSTRAINT image_tags_ibfk_1 FOREIGN KEY (image_id) REFERENCES images (id),
  CONSTRAINT CONSTRAINT_1 CHECK (deleted IN (0, 1))
) ${TABLE_OPTIONS}`,
  },
  {
    name: 'tasks',
    ddl: `CREATE TABLE tasks (
  id VARCHAR(36) NOT NULL,
  type VARCHAR(30) NOT NULL,
  status VARCHAR(30) NOT NULL,
  owner VARCHAR(255) NOT NULL,
  expires_at DATETIME,
  created_at DATETIME NOT NULL,
  updated_at DATETIME,
  deleted_at DATETIME,
  deleted BOOL NOT NULL,
  image_id VARCHAR(36),
  request_id VARCHAR(64),
  user_id VARCHAR(64),
  PRIMARY KEY (id),
  INDEX ix_tasks_deleted (deleted),
  INDEX ix_tasks_owner (owner),
  INDEX ix_tasks_status (status),
  INDEX ix_tasks_type (type),
  INDEX ix_tasks_updated_at (updated_at),
  INDEX ix_tasks_image_id (image_id),
  CONSTRAINT CONSTRAINT_1 CHECK (deleted IN (0, 1))
) ${TABLE_OPTIONS}`,
  },
  {
    name: 'task_info',
    ddl: `CREATE TABLE task_info (
  task_id VARCHAR(36) NOT NULL,
  input TEXT,
  result TEXT,
  message TEXT,
  PRIMARY KEY (task_id),
  CONSTRAINT task_info_ibfk_1 FOREIGN KEY (task_id) REFERENCES tasks (id)
) ${TABLE_OPTIONS}`,
  },
  {
    name: 'metadef_namespaces',
    ddl: `CREATE TABLE metadef_namespaces (
  id INTEGER NOT NULL AUTO_INCREMENT,
  namespace VARCHAR(80) NOT NULL,
  display_name VARCHAR(80),
  description TEXT,
  visibility VARCHAR(32),
  protected BOOL,
  owner VARCHAR(255) NOT NULL,
  created_at DATETIME NOT NULL,
  updated_at DATETIME,
  PRIMARY KEY (id),
  CONSTRAINT uq_metadef_namespaces_namespace UNIQUE (namespace),
  INDEX ix_metadef_namespaces_owner (owner),
  CONSTRAINT CONSTRAINT_1 CHECK (protected IN (0, 1))
) ${TABLE_OPTIONS}`,
  },
  {
    name: 'metadef_resource_types',
    ddl: `CREATE TABLE metadef_resource_types (
  id INTEGER NOT NULL AUTO_INCREMENT,
  name VARCHAR(80) NOT NULL,
  protected BOOL NOT NULL,
  created_at DATETIME NOT NULL,
  updated_at DATETIME,
  PRIMARY KEY (id),
  CONSTRAINT uq_metadef_resource_types_name UNIQUE (name),
  CONSTRAINT CONSTRAINT_1 CHECK (protected IN (0, 1))
) ${TABLE_OPTIONS}`,
  },
  {
    name: 'metadef_namespace_resource_types',
    ddl: `CREATE TABLE metadef_namespace_resource_types (
  resource_type_id INTEGER NOT NULL,
  namespace_id INTEGER NOT NULL,
  properties_target VARCHAR(80),
  prefix VARCHAR(80),
  created_at DATETIME NOT NULL,
  updated_at DATETIME,
  PRIMARY KEY (resource_type_id, namespace_id),
  INDEX ix_metadef_ns_res_types_namespace_id (namespace_id),
  CONSTRAINT metadef_namespace_resource_types_ibfk_1 FOREIGN KEY (namespace_id) REFERENCES metadef_namespaces (id),
  CONSTRAINT metadef_namespace_resource_types_ibfk_2 FOREIGN KEY (resource_type_id) REFERENCES metadef_resource_types (id)
) ${TABLE_OPTIONS}`,
  },
  {
    name: 'metadef_objects',
    ddl: `CREATE TABLE metadef_objects (
  id INTEGER NOT NULL AUTO_INCREMENT,
  namespace_id INTEGER NOT NULL,
  name VARCHAR(80) NOT NULL,
  description TEXT,
  required TEXT,
  json_schema TEXT NOT NULL,
  created_at DATETIME NOT NULL,
  updated_at DATETIME,
  PRIMARY KEY (id),
  CONSTRAINT uq_metadef_objects_namespace_id_name UNIQUE (namespace_id, name),
  INDEX ix_metadef_objects_name (name),
  CONSTRAINT metadef_objects_ibfk_1 FOREIGN KEY (namespace_id) REFERENCES metadef_namespaces (id)
) ${TABLE_OPTIONS}`,
  },
  {
    name: 'metadef_properties',
    ddl: `CREATE TABLE metadef_properties (
  id INTEGER NOT NULL AUTO_INCREMENT,
  namespace_id INTEGER NOT NULL,
  name VARCHAR(80) NOT NULL,
  json_schema TEXT NOT NULL,
  created_at DATETIME NOT NULL,
  updated_at DATETIME,
  PRIMARY KEY (id),
  CONSTRAINT uq_metadef_properties_namespace_id_name UNIQUE (namespace_id, name),
  INDEX ix_metadef_properties_name (name),
  CONSTRAINT metadef_properties_ibfk_1 FOREIGN KEY (namespace_id) REFERENCES metadef_namespaces (id)
) ${TABLE_OPTIONS}`,
  },
  {
    name: 'metadef_tags',
    ddl: `CREATE TABLE metadef_tags (
  id INTEGER NOT NULL AUTO_INCREMENT,
  namespace_id INTEGER NOT NULL,
  name VARCHAR(80) NOT NULL,
  created_at DATETIME NOT NULL,
  updated_at DATETIME,
  PRIMARY KEY (id),
  CONSTRAINT uq_metadef_tags_namespace_id_name UNIQUE (namespace_id, name),
  INDEX ix_metadef_tags_name (name),
  CONSTRAINT metadef_tags_ibfk_1 FOREIGN KEY (namespace_id) REFERENCES metadef_namespaces (id)
) ${TABLE_OPTIONS}`,
  },
];

/**
 * Alembic creates its own table with neither engine nor charset, so it takes the database's defaults; so
 * does ours. The primary key name is alembic's, which MySQL keeps as PRIMARY either way.
 */
export const ALEMBIC_VERSION_TABLE: TableDefinition = {
  name: 'alembic_version',
  ddl: `CREATE TABLE alembic_version (
  version_num VARCHAR(32) NOT NULL,
  CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
)`,
};
