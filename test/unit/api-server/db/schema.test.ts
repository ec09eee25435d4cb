import {
  ALEMBIC_VERSION_TABLE,
  OLDER_REVISIONS,
  SCHEMA_HEAD,
  TABLES,
} from '../../../../api-server/src/db/schema.js';
import { SCHEMA_HEAD as EXPORTED_HEAD } from '../../../../api-server/src/db/migrate.js';

describe('schema', () => {
  it('is at the head db_sync of Glance 25.x writes, exported by migrate too', () => {
    expect(SCHEMA_HEAD).toBe('wallaby_contract01');
    expect(EXPORTED_HEAD).toBe(SCHEMA_HEAD);
    expect(OLDER_REVISIONS.has(SCHEMA_HEAD)).toBe(false);
  });

  it('has every table the Image and metadefs APIs use, and nothing Zed dropped', () => {
    expect(TABLES.map((t) => t.name).sort()).toEqual([
      'image_locations',
      'image_members',
      'image_properties',
      'image_tags',
      'images',
      'metadef_namespace_resource_types',
      'metadef_namespaces',
      'metadef_objects',
      'metadef_properties',
      'metadef_resource_types',
      'metadef_tags',
      'task_info',
      'tasks',
    ]);
    expect(ALEMBIC_VERSION_TABLE.name).toBe('alembic_version');
  });

  it('creates each table after the tables its foreign keys reference', () => {
    const seen = new Set<string>();
    for (const table of TABLES) {
      for (const m of table.ddl.matchAll(/REFERENCES (\w+) \(/g)) {
        expect([table.name, seen.has(m[1] ?? '')]).toEqual([table.name, true]);
      }
      seen.add(table.name);
    }
  });
});
