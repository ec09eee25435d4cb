import { readdirSync } from 'node:fs';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { client } from '../client.js';
import { KeystoneFixture, type Persona } from '../keystone.js';
import { adminConnection, ApiServer, requireBuild, ScratchDatabase } from '../server.js';

// Our api-server, built and started as operators run it on its own MariaDB database, with upstream's metadata
// definitions loaded by our `db-load-metadefs`, driven over HTTP with real Keystone tokens.

const DEFINITIONS = '/etc/glance/metadefs';
const keystone = new KeystoneFixture();
const db = new ScratchDatabase();
const server = new ApiServer({ db, workers: 1 });
let sql: Connection;
let admin: Persona;
let alice: Persona;
let bob: Persona;
let call: ReturnType<typeof client>;
let loadOutput = '';

type Json = Record<string, unknown>;
const ns = (path = ''): string => `/v2/metadefs/namespaces${path}`;
// webob's explanation, without the detail markup it appends.
const message = (json: unknown): string =>
  ((json as { message?: string } | undefined)?.message ?? '').split('<br />')[0] ?? '';

beforeAll(async () => {
  requireBuild();
  await db.create();
  await server.writeConfig();
  const sync = await server.run(['db-sync']);
  if (sync.code !== 0) throw new Error(`db-sync failed:\n${sync.output}`);
  const load = await server.run(['db-load-metadefs', DEFINITIONS]);
  if (load.code !== 0) throw new Error(`db-load-metadefs failed:\n${load.output}`);
  loadOutput = load.output;
  await server.start();
  call = client(server.base);
  admin = await keystone.adminPersona();
  alice = await keystone.memberPersona('mdalice');
  bob = await keystone.memberPersona('mdbob');
  sql = await adminConnection(db.name);
});

afterAll(async () => {
  await server.stop();
  await sql?.end();
  await keystone.cleanup();
  await db.drop();
  server.cleanup();
});

async function rows(query: string, params: unknown[] = []): Promise<RowDataPacket[]> {
  const [result] = await sql.query<RowDataPacket[]>(query, params);
  return result;
}

describe('db-load-metadefs', () => {
  test('loads every definition file once; a second run skips them all', async () => {
    const files = readdirSync(DEFINITIONS).filter((f) => f.endsWith('.json'));
    expect(await rows('SELECT namespace FROM metadef_namespaces')).toHaveLength(files.length);
    expect(loadOutput).toContain(`"loaded":${files.length}`);
    const again = await server.run(['db-load-metadefs', DEFINITIONS]);
    expect(again.code).toBe(0);
    expect(again.output).toContain(`"loaded":0,"skipped":${files.length},"failed":0`);
    expect(await rows('SELECT namespace FROM metadef_namespaces')).toHaveLength(files.length);
  });

  test('the seeded resource types are listed, protected in the database', async () => {
    const res = await call(alice, 'GET', '/v2/metadefs/resource_types');
    expect(res.status).toBe(200);
    const names = (res.json as { resource_types: { name: string }[] }).resource_types.map((t) => t.name);
    expect(names).toEqual(
      expect.arrayContaining(['OS::Glance::Image', 'OS::Nova::Flavor', 'OS::Cinder::Volume']),
    );
    expect(await rows('SELECT name FROM metadef_resource_types WHERE protected = 0')).toHaveLength(0);
  });
});

describe('listing namespaces', () => {
  test('pages follow the next link without repeating or skipping a namespace', async () => {
    const total = (await rows("SELECT id FROM metadef_namespaces WHERE visibility = 'public'")).length;
    const seen: string[] = [];
    let next: string | undefined = ns('?limit=7');
    while (next !== undefined) {
      const res = await call(alice, 'GET', next);
      expect(res.status).toBe(200);
      const body = res.json as { namespaces: { namespace: string }[]; next?: string; first: string };
      expect(body.first).toBe(ns('?limit=7'));
      seen.push(...body.namespaces.map((n) => n.namespace));
      next = body.next;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toHaveLength(total);
  });

  test('resource_types keeps only namespaces associated with one of the types, associations shown', async () => {
    const res = await call(alice, 'GET', ns('?resource_types=OS::Nova::Aggregate&limit=100'));
    expect(res.status).toBe(200);
    const list = (res.json as { namespaces: { resource_type_associations?: { name: string }[] }[] })
      .namespaces;
    expect(list.length).toBeGreaterThan(0);
    for (const n of list)
      expect(n.resource_type_associations?.map((a) => a.name)).toContain('OS::Nova::Aggregate');
  });

  test('bad parameters are 400 with the reason', async () => {
    const res = await call(alice, 'GET', ns('?sort_dir=sideways'));
    expect(res.status).toBe(400);
    expect(message(res.json)).toContain('Invalid sort direction: sideways');
    expect((await call(alice, 'GET', ns('?visibility=shared'))).status).toBe(400);
  });
});

describe('visibility and policy', () => {
  const privateName = `md-http-private-${keystone.suffix}`;

  beforeAll(async () => {
    const res = await call(admin, 'POST', ns(), {
      body: { namespace: privateName, visibility: 'private', owner: alice.projectId, tags: [{ name: 'x' }] },
    });
    expect(res.status).toBe(201);
  });

  test("a private namespace is its owner's: listed and shown to alice, invisible to bob", async () => {
    const aliceList = await call(alice, 'GET', ns('?visibility=private'));
    expect(
      (aliceList.json as { namespaces: { namespace: string }[] }).namespaces.map((n) => n.namespace),
    ).toEqual([privateName]);
    expect((await call(alice, 'GET', ns(`/${privateName}`))).status).toBe(200);
    const bobList = await call(bob, 'GET', ns('?visibility=private'));
    expect((bobList.json as { namespaces: unknown[] }).namespaces).toEqual([]);
    expect((await call(bob, 'GET', ns(`/${privateName}`))).status).toBe(404);
    expect((await call(bob, 'GET', ns(`/${privateName}/tags`))).status).toBe(404);
    const marker = await call(bob, 'GET', ns(`?marker=${privateName}`));
    expect(marker.status).toBe(403);
  });

  test('members may read but not change definitions: 403 on what they see, 404 on what they do not', async () => {
    const create = await call(alice, 'POST', ns(), {
      body: { namespace: `md-http-alice-${keystone.suffix}` },
    });
    expect(create.status).toBe(403);
    expect(message(create.json)).toBe('You are not authorized to complete add_metadef_namespace action.');
    const addToPublic = await call(alice, 'POST', ns('/OS::Compute::Libvirt/objects'), {
      body: { name: 'o' },
    });
    expect(addToPublic.status).toBe(403);
    const bobTag = await call(bob, 'POST', ns(`/${privateName}/tags/y`));
    expect(bobTag.status).toBe(404);
    expect(message(bobTag.json)).toBe(`Namespace ${privateName} not found`);
  });
});

describe('namespace life cycle', () => {
  const name = `md-http-cycle-${keystone.suffix}`;

  test('create 201 with Location and the contents; duplicate 409', async () => {
    const res = await call(admin, 'POST', ns(), {
      body: {
        namespace: name,
        display_name: 'Cycle',
        visibility: 'public',
        protected: true,
        resource_type_associations: [{ name: 'OS::Glance::Image', prefix: 'cy_' }],
        properties: { speed: { title: 'Speed', type: 'integer', minimum: 1, default: 5 } },
        objects: [
          { name: 'Box', required: ['size'], properties: { size: { title: 'Size', type: 'number' } } },
        ],
        tags: [{ name: 'one' }],
      },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`${server.base}${ns(`/${name}`)}`);
    expect(res.json).toMatchObject({
      namespace: name,
      visibility: 'public',
      protected: true,
      properties: { speed: { type: 'integer', title: 'Speed', default: '5', minimum: 1 } },
      tags: [{ name: 'one' }],
      self: ns(`/${name}`),
    });
    const again = await call(admin, 'POST', ns(), { body: { namespace: name.toUpperCase() } });
    expect(again.status).toBe(409);
    expect(message(again.json)).toBe(
      `The metadata definition namespace=${name.toUpperCase()} already exists.`,
    );
  });

  test('show prefixes property names for a resource type; a property is found by its prefixed name', async () => {
    const res = await call(alice, 'GET', ns(`/${name}?resource_type=OS::Glance::Image`));
    expect(res.status).toBe(200);
    const body = res.json as Json & { objects: Json[] };
    expect(Object.keys(body.properties as Json)).toEqual(['cy_speed']);
    expect(body.objects[0]).toMatchObject({ name: 'Box', required: ['cy_size'] });
    const prop = await call(alice, 'GET', ns(`/${name}/properties/cy_speed?resource_type=OS::Glance::Image`));
    expect(prop.status).toBe(200);
    expect(prop.json).toEqual({ name: 'speed', type: 'integer', title: 'Speed', default: '5', minimum: 1 });
  });

  test('objects, properties and tags: create 201, update 200, delete 204, clashes 409', async () => {
    const obj = await call(admin, 'POST', ns(`/${name}/objects`), { body: { name: 'Crate' } });
    expect(obj.status).toBe(201);
    const clash = await call(admin, 'PUT', ns(`/${name}/objects/Crate`), { body: { name: 'box' } });
    expect(clash.status).toBe(409);
    const renamed = await call(admin, 'PUT', ns(`/${name}/objects/Crate`), {
      body: { name: 'Chest', description: 'renamed' },
    });
    expect(renamed.status).toBe(200);
    expect(renamed.json).toMatchObject({
      name: 'Chest',
      description: 'renamed',
      self: ns(`/${name}/objects/Chest`),
    });
    expect((await call(admin, 'GET', ns(`/${name}/objects/Crate`))).status).toBe(404);

    const prop = await call(admin, 'POST', ns(`/${name}/properties`), {
      body: { name: 'color', title: 'Color', type: 'string', enum: ['red', 'blue'] },
    });
    expect(prop.status).toBe(201);
    const updated = await call(admin, 'PUT', ns(`/${name}/properties/color`), {
      body: { name: 'colour', title: 'Colour', type: 'string' },
    });
    expect(updated.status).toBe(200);
    expect(updated.json).toEqual({ name: 'colour', type: 'string', title: 'Colour' });

    const tag = await call(admin, 'POST', ns(`/${name}/tags/two`));
    expect(tag.status).toBe(201);
    expect((await call(admin, 'POST', ns(`/${name}/tags/TWO`))).status).toBe(409);
    const tagRename = await call(admin, 'PUT', ns(`/${name}/tags/two`), { body: { name: 'three' } });
    expect(tagRename.status).toBe(200);
    expect((tagRename.json as Json).name).toBe('three');
  });

  test('deleting from a protected namespace is 403 until it is unprotected', async () => {
    for (const path of [
      `/${name}`,
      `/${name}/objects/Chest`,
      `/${name}/tags/one`,
      `/${name}/properties/speed`,
    ]) {
      expect((await call(admin, 'DELETE', ns(path))).status).toBe(403);
    }
    const refused = await call(admin, 'DELETE', ns(`/${name}`));
    expect(message(refused.json)).toBe(
      `Metadata definition namespace ${name} is protected and cannot be deleted.`,
    );
    const unprotect = await call(admin, 'PUT', ns(`/${name}`), {
      body: { namespace: name, visibility: 'public', protected: false },
    });
    expect(unprotect.status).toBe(200);
    expect((unprotect.json as Json).protected).toBe(false);
    expect((await call(admin, 'DELETE', ns(`/${name}/objects/Chest`))).status).toBe(204);
    expect((await call(admin, 'DELETE', ns(`/${name}/properties/colour`))).status).toBe(204);
    expect((await call(admin, 'DELETE', ns(`/${name}/resource_types/OS::Glance::Image`))).status).toBe(204);
    expect((await call(admin, 'DELETE', ns(`/${name}/resource_types/OS::Glance::Image`))).status).toBe(404);
  });

  test('bulk tags replace the list, or add to it with X-Openstack-Append; a clash changes nothing', async () => {
    const names = async (): Promise<string[]> =>
      (
        (await call(admin, 'GET', ns(`/${name}/tags?sort_key=name&sort_dir=asc`))).json as { tags: Json[] }
      ).tags.map((t) => t.name as string);
    const replace = await call(admin, 'POST', ns(`/${name}/tags`), {
      body: { tags: [{ name: 'b' }, { name: 'a' }] },
    });
    expect(replace.status).toBe(201);
    expect(replace.json).toEqual({ tags: [{ name: 'b' }, { name: 'a' }] });
    expect(await names()).toEqual(['a', 'b']);
    const append = await call(admin, 'POST', ns(`/${name}/tags`), {
      body: { tags: [{ name: 'c' }] },
      headers: { 'X-Openstack-Append': 'True' },
    });
    expect(append.status).toBe(201);
    expect(await names()).toEqual(['a', 'b', 'c']);
    const clash = await call(admin, 'POST', ns(`/${name}/tags`), {
      body: { tags: [{ name: 'd' }, { name: 'D' }] },
    });
    expect(clash.status).toBe(409);
    expect(await names()).toEqual(['a', 'b', 'c']);
    const page = await call(admin, 'GET', ns(`/${name}/tags?sort_key=name&sort_dir=asc&limit=1&marker=a`));
    expect(page.json).toEqual({ tags: [{ name: 'b' }] });
  });

  test('deleting the namespace removes everything in it', async () => {
    const [row] = await rows('SELECT id FROM metadef_namespaces WHERE namespace = ?', [name]);
    expect((await call(admin, 'DELETE', ns(`/${name}`))).status).toBe(204);
    expect((await call(admin, 'GET', ns(`/${name}`))).status).toBe(404);
    for (const table of [
      'metadef_objects',
      'metadef_properties',
      'metadef_tags',
      'metadef_namespace_resource_types',
    ]) {
      expect(await rows(`SELECT 1 FROM ${table} WHERE namespace_id = ?`, [row?.id])).toHaveLength(0);
    }
  });
});
