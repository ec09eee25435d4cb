import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { RowDataPacket } from 'mysql2/promise';
import { adminConnection, ApiServer, requireBuild, ScratchDatabase } from '../server.js';

// Our `db-load-metadefs` against upstream's `glance-manage db_load_metadefs`, each loading the installed
// definitions into its own empty database: the rows must be the same, JSON text included, since the API shows
// loaded definitions straight from them.

const DEFINITIONS = '/etc/glance/metadefs';
const run = promisify(execFile);
const upstreamDb = new ScratchDatabase();
const ourDb = new ScratchDatabase();
const ours = new ApiServer({ db: ourDb });
// Only its db-sync is used: the schema is upstream's, so glance-manage loads into it as into its own.
const upstreamSide = new ApiServer({ db: upstreamDb });
let confDir = '';

beforeAll(async () => {
  requireBuild();
  await upstreamDb.create();
  await ourDb.create();
  await ours.writeConfig();
  await upstreamSide.writeConfig();
  for (const side of [ours, upstreamSide]) {
    const sync = await side.run(['db-sync']);
    if (sync.code !== 0) throw new Error(`db-sync failed:\n${sync.output}`);
  }
  confDir = mkdtempSync(path.join(tmpdir(), 'glance-manage-'));
  const conf = path.join(confDir, 'glance-manage.conf');
  writeFileSync(conf, `[database]\nconnection = ${upstreamDb.url}\n`, { mode: 0o600 });
  // Debian's OpenStack tools need the system Python, ahead of any other on PATH.
  await run('glance-manage', ['--config-file', conf, 'db_load_metadefs', DEFINITIONS], {
    env: { ...process.env, PATH: `/usr/sbin:/usr/bin:${process.env.PATH ?? ''}` },
  });
  const load = await ours.run(['db-load-metadefs', DEFINITIONS]);
  if (load.code !== 0) throw new Error(`db-load-metadefs failed:\n${load.output}`);
}, 120_000);

afterAll(async () => {
  await upstreamDb.drop();
  await ourDb.drop();
  ours.cleanup();
  upstreamSide.cleanup();
  if (confDir) rmSync(confDir, { recursive: true, force: true });
});

// Each table keyed by names (the installed definitions have no tags) rather than ids, which follow the order the files happened to be read in.
const QUERIES: Record<string, string> = {
  namespaces: `SELECT namespace, display_name, description, visibility, protected, owner,
                      created_at IS NOT NULL AS created, updated_at IS NULL AS never_updated
                 FROM metadef_namespaces ORDER BY namespace`,
  resource_types: `SELECT name, protected, updated_at IS NULL AS never_updated
                     FROM metadef_resource_types ORDER BY name`,
  associations: `SELECT n.namespace, r.name, a.prefix, a.properties_target, a.updated_at IS NULL AS never_updated
                   FROM metadef_namespace_resource_types a
                   JOIN metadef_namespaces n ON n.id = a.namespace_id
                   JOIN metadef_resource_types r ON r.id = a.resource_type_id
                  ORDER BY n.namespace, r.name`,
  properties: `SELECT n.namespace, p.name, p.json_schema FROM metadef_properties p
                 JOIN metadef_namespaces n ON n.id = p.namespace_id ORDER BY n.namespace, p.name`,
  objects: `SELECT n.namespace, o.name, o.description, o.required, o.json_schema FROM metadef_objects o
              JOIN metadef_namespaces n ON n.id = o.namespace_id ORDER BY n.namespace, o.name`,
};

async function snapshot(database: string, query: string): Promise<RowDataPacket[]> {
  const conn = await adminConnection(database);
  try {
    const [rows] = await conn.query<RowDataPacket[]>(query);
    return rows;
  } finally {
    await conn.end();
  }
}

test.each(Object.keys(QUERIES))('%s: the same rows as glance-manage writes', async (table) => {
  const query = QUERIES[table] ?? '';
  const expected = await snapshot(upstreamDb.name, query);
  expect(expected.length).toBeGreaterThan(0);
  expect(await snapshot(ourDb.name, query)).toEqual(expected);
});
