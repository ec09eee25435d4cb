import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { abortedUpload, client, md5, rawRequest, sha512, slowBody, type Reply } from '../client.js';
import { KeystoneFixture, type Persona } from '../keystone.js';
import { adminConnection, ApiServer, ScratchDatabase, startOnScratchDatabase } from '../server.js';

// Our api-server, built and started as operators run it, driven over HTTP with real Keystone tokens and a real
// MariaDB. Each test reads what a client would notice: status codes, headers, bodies, and the rows and files left.

const CAP = 64 * 1024;
const TAG_QUOTA = 4;

const keystone = new KeystoneFixture();
const db = new ScratchDatabase();
const server = new ApiServer({
  db,
  workers: 2,
  defaults: { image_size_cap: CAP, image_tag_quota: TAG_QUOTA },
});
let sql: Connection;
let admin: Persona;
let alice: Persona;
let bob: Persona;
let call: ReturnType<typeof client>;

type Image = Record<string, unknown> & { id: string; status: string };

beforeAll(async () => {
  await startOnScratchDatabase(db, server);
  call = client(server.base);
  admin = await keystone.adminPersona();
  alice = await keystone.memberPersona('alice');
  bob = await keystone.memberPersona('bob');
  sql = await adminConnection(db.name);
});

afterAll(async () => {
  await server.stop();
  await sql?.end();
  await keystone.cleanup();
  await db.drop();
  server.cleanup();
});

async function createImage(who: Persona, body: Record<string, unknown> = {}): Promise<Image> {
  const res = await call(who, 'POST', '/v2/images', {
    body: { disk_format: 'raw', container_format: 'bare', ...body },
  });
  expect(res.status).toBe(201);
  return res.json as Image;
}

async function upload(
  who: Persona,
  id: string,
  data: Uint8Array | ReadableStream<Uint8Array>,
): Promise<Reply> {
  return call(who, 'PUT', `/v2/images/${id}/file`, {
    raw: data,
    headers: { 'Content-Type': 'application/octet-stream' },
  });
}

async function show(who: Persona, id: string): Promise<Image> {
  const res = await call(who, 'GET', `/v2/images/${id}`);
  expect(res.status).toBe(200);
  return res.json as Image;
}

async function rows(query: string, params: unknown[]): Promise<RowDataPacket[]> {
  const [result] = await sql.query<RowDataPacket[]>(query, params);
  return result;
}

function storedFiles(): string[] {
  return existsSync(server.datadir) ? readdirSync(server.datadir).sort() : [];
}

function message(res: Reply): string {
  return (res.json as { message?: string } | undefined)?.message ?? '';
}

describe('framing', () => {
  test('the versions document needs no token: 300 at the root, 200 at /versions', async () => {
    const root = await call(null, 'GET', '/');
    expect(root.status).toBe(300);
    const versions = (root.json as { versions: { id: string; status: string }[] }).versions;
    expect(versions[0]).toMatchObject({ id: 'v2.15', status: 'CURRENT' });
    expect((await call(null, 'GET', '/versions')).status).toBe(200);
    expect((await call(null, 'GET', '/v1/images')).status).toBe(300);
  });

  test('no token: 401 with the webob body, a Keystone challenge and a request id', async () => {
    const res = await call(null, 'GET', '/v2/images');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Keystone uri=/);
    expect(res.headers.get('x-openstack-request-id')).toMatch(/^req-[0-9a-f-]{36}$/);
    expect(res.json).toMatchObject({ code: '401 Unauthorized', title: 'Unauthorized' });
  });

  test("the client's request id is echoed with req- prefixed", async () => {
    const res = await call(alice, 'GET', '/v2/images', { headers: { 'X-Openstack-Request-ID': 'trace-42' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-openstack-request-id')).toBe('req-trace-42');
  });

  test('unknown paths are 404, known paths with other methods 405 with Allow', async () => {
    expect((await call(alice, 'GET', '/v2/nothing')).status).toBe(404);
    expect((await call(alice, 'GET', '/v2/images/')).status).toBe(404);
    const res = await call(alice, 'PUT', '/v2/images');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, POST');
    const item = await call(alice, 'POST', `/v2/images/${randomUUIDLike()}`);
    expect(item.headers.get('allow')).toBe('GET, PATCH, DELETE');
  });

  test('schemas and import info are served; the image schema lists the disk formats', async () => {
    const schema = await call(alice, 'GET', '/v2/schemas/image');
    expect(schema.status).toBe(200);
    expect(schema.json).toMatchObject({ name: 'image', additionalProperties: { type: 'string' } });
    const props = (schema.json as { properties: { disk_format: { enum: unknown[] } } }).properties;
    expect(props.disk_format.enum).toContain('qcow2');
    expect((await call(alice, 'GET', '/v2/schemas/members')).status).toBe(200);
    const info = await call(alice, 'GET', '/v2/info/import');
    expect(info.json).toEqual({
      'import-methods': {
        description: 'Import methods available.',
        type: 'array',
        value: ['glance-direct', 'web-download', 'copy-image'],
      },
    });
    expect((await call(alice, 'GET', '/v2/info/stores')).status).toBe(404);
  });

  test('healthcheck answers without a token', async () => {
    const res = await call(null, 'GET', '/healthcheck', { headers: { Accept: 'text/plain' } });
    expect(res.status).toBe(200);
    expect(res.text).toBe('OK');
  });
});

function randomUUIDLike(): string {
  const hex = randomBytes(16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

describe('image lifecycle', () => {
  test('create: 201 with Location, import methods and upstream defaults', async () => {
    const res = await call(alice, 'POST', '/v2/images', {
      body: {
        name: 'life',
        disk_format: 'qcow2',
        container_format: 'bare',
        tags: ['x'],
        os_distro: 'debian',
      },
    });
    expect(res.status).toBe(201);
    const image = res.json as Image;
    expect(res.headers.get('location')).toBe(`${server.base}/v2/images/${image.id}`);
    expect(res.headers.get('openstack-image-import-methods')).toBe('glance-direct,web-download,copy-image');
    expect(image).toMatchObject({
      name: 'life',
      status: 'queued',
      visibility: 'shared',
      owner: alice.projectId,
      size: null,
      checksum: null,
      protected: false,
      os_hidden: false,
      min_disk: 0,
      min_ram: 0,
      tags: ['x'],
      os_distro: 'debian',
      self: `/v2/images/${image.id}`,
      file: `/v2/images/${image.id}/file`,
      schema: '/v2/schemas/image',
    });
    expect(image.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  test('upload with Content-Length, then download, ranges and the stored rows', async () => {
    const image = await createImage(alice);
    const data = randomBytes(40_000);
    const put = await upload(alice, image.id, data);
    expect(put.status).toBe(204);
    const after = await show(alice, image.id);
    expect(after).toMatchObject({
      status: 'active',
      size: data.length,
      virtual_size: data.length,
      checksum: md5(data),
      os_hash_algo: 'sha512',
      os_hash_value: sha512(data),
    });
    const [location] = await rows(
      'SELECT value, status FROM image_locations WHERE image_id = ? AND deleted = 0',
      [image.id],
    );
    expect(location).toMatchObject({ value: `file://${server.datadir}/${image.id}`, status: 'active' });

    const full = await fetch(`${server.base}/v2/images/${image.id}/file`, {
      headers: { 'X-Auth-Token': alice.token },
    });
    expect(full.status).toBe(200);
    expect(full.headers.get('content-md5')).toBe(md5(data));
    expect(full.headers.get('content-length')).toBe(String(data.length));
    expect(Buffer.from(await full.arrayBuffer()).equals(data)).toBe(true);

    const part = await fetch(`${server.base}/v2/images/${image.id}/file`, {
      headers: { 'X-Auth-Token': alice.token, Range: 'bytes=100-199' },
    });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${data.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(data.subarray(100, 200))).toBe(true);

    const tail = await fetch(`${server.base}/v2/images/${image.id}/file`, {
      headers: { 'X-Auth-Token': alice.token, Range: 'bytes=-10' },
    });
    expect(Buffer.from(await tail.arrayBuffer()).equals(data.subarray(data.length - 10))).toBe(true);

    const beyond = await call(alice, 'GET', `/v2/images/${image.id}/file`, {
      headers: { Range: `bytes=${data.length}-` },
    });
    expect(beyond.status).toBe(416);
    const multi = await call(alice, 'GET', `/v2/images/${image.id}/file`, {
      headers: { Range: 'bytes=0-1,5-6' },
    });
    expect(multi.status).toBe(400);
  });

  test('chunked upload (no Content-Length) hashes what arrived', async () => {
    const image = await createImage(alice);
    const data = randomBytes(30_000);
    expect((await upload(alice, image.id, slowBody(data, 5, 10))).status).toBe(204);
    expect(await show(alice, image.id)).toMatchObject({
      status: 'active',
      size: data.length,
      checksum: md5(data),
    });
  });

  test('an empty upload makes an active image of size 0', async () => {
    const image = await createImage(alice);
    expect((await upload(alice, image.id, new Uint8Array())).status).toBe(204);
    expect(await show(alice, image.id)).toMatchObject({
      status: 'active',
      size: 0,
      checksum: md5(new Uint8Array()),
    });
  });

  test('upload refusals: 415 media type, 400 missing formats, 409 not queued, 404 unknown image', async () => {
    const image = await createImage(alice);
    const wrongType = await call(alice, 'PUT', `/v2/images/${image.id}/file`, {
      raw: 'abc',
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(wrongType.status).toBe(415);
    expect((await show(alice, image.id)).status).toBe('queued');

    const bare = (await call(alice, 'POST', '/v2/images', { body: { name: 'no formats' } })).json as Image;
    const noFormats = await upload(alice, bare.id, randomBytes(10));
    expect(noFormats.status).toBe(400);
    expect(message(noFormats)).toMatch(
      /^Properties disk_format, container_format must be set prior to saving data/,
    );
    expect((await show(alice, bare.id)).status).toBe('queued');

    expect((await upload(alice, image.id, randomBytes(10))).status).toBe(204);
    const again = await upload(alice, image.id, randomBytes(10));
    expect(again.status).toBe(409);
    expect((await upload(alice, randomUUIDLike(), randomBytes(10))).status).toBe(404);
  });

  test('a queued image has no data: 204', async () => {
    const image = await createImage(alice);
    const res = await call(alice, 'GET', `/v2/images/${image.id}/file`);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
  });

  test('deactivate blocks downloads for non-admins only; reactivate restores them', async () => {
    const image = await createImage(alice);
    await upload(alice, image.id, randomBytes(100));
    expect((await call(alice, 'POST', `/v2/images/${image.id}/actions/deactivate`)).status).toBe(204);
    expect((await show(alice, image.id)).status).toBe('deactivated');
    const refused = await call(alice, 'GET', `/v2/images/${image.id}/file`);
    expect(refused.status).toBe(403);
    expect(message(refused)).toMatch(/has been deactivated/);
    expect((await call(admin, 'GET', `/v2/images/${image.id}/file`)).status).toBe(200);
    expect((await call(alice, 'POST', `/v2/images/${image.id}/actions/deactivate`)).status).toBe(204);
    expect((await call(alice, 'POST', `/v2/images/${image.id}/actions/reactivate`)).status).toBe(204);
    expect((await call(alice, 'GET', `/v2/images/${image.id}/file`)).status).toBe(200);
    // Another project cannot see Alice's shared image at all.
    expect((await call(bob, 'POST', `/v2/images/${image.id}/actions/deactivate`)).status).toBe(404);
    const queued = await createImage(alice);
    expect((await call(alice, 'POST', `/v2/images/${queued.id}/actions/deactivate`)).status).toBe(403);
    const withBody = await call(alice, 'POST', `/v2/images/${image.id}/actions/reactivate`, { body: {} });
    expect(withBody.status).toBe(400);
  });

  test('PATCH in both media types with upstream semantics', async () => {
    const image = await createImage(alice, { name: 'before', color: 'red' });
    const v21 = { 'Content-Type': 'application/openstack-images-v2.1-json-patch' };
    const v20 = { 'Content-Type': 'application/openstack-images-v2.0-json-patch' };
    const patched = await call(alice, 'PATCH', `/v2/images/${image.id}`, {
      headers: v21,
      raw: JSON.stringify([
        { op: 'replace', path: '/name', value: 'after' },
        { op: 'add', path: '/size_hint', value: 'big' },
        { op: 'remove', path: '/color' },
        { op: 'add', path: '/min_ram', value: 512 },
      ]),
    });
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({ name: 'after', size_hint: 'big', min_ram: 512 });
    expect(patched.json).not.toHaveProperty('color');
    expect(await show(alice, image.id)).toMatchObject({ name: 'after', size_hint: 'big' });

    const overwrite = await call(alice, 'PATCH', `/v2/images/${image.id}`, {
      headers: v21,
      raw: JSON.stringify([{ op: 'add', path: '/size_hint', value: 'huge' }]),
    });
    expect(overwrite.status).toBe(200);
    const duplicate = await call(alice, 'PATCH', `/v2/images/${image.id}`, {
      headers: v20,
      raw: JSON.stringify([{ add: '/size_hint', value: 'x' }]),
    });
    expect(duplicate.status).toBe(409);
    const missing = await call(alice, 'PATCH', `/v2/images/${image.id}`, {
      headers: v21,
      raw: JSON.stringify([{ op: 'remove', path: '/nope' }]),
    });
    expect(missing.status).toBe(409);
    const readOnly = await call(alice, 'PATCH', `/v2/images/${image.id}`, {
      headers: v21,
      raw: JSON.stringify([{ op: 'replace', path: '/status', value: 'active' }]),
    });
    expect(readOnly.status).toBe(403);
    const reserved = await call(alice, 'PATCH', `/v2/images/${image.id}`, {
      headers: v21,
      raw: JSON.stringify([{ op: 'add', path: '/os_glance_x', value: 'y' }]),
    });
    expect(reserved.status).toBe(403);
    const wrongType = await call(alice, 'PATCH', `/v2/images/${image.id}`, { body: [] });
    expect(wrongType.status).toBe(415);
    expect(wrongType.headers.get('accept-patch')).toBe(
      'application/openstack-images-v2.0-json-patch, application/openstack-images-v2.1-json-patch',
    );
    const byOther = await call(bob, 'PATCH', `/v2/images/${image.id}`, {
      headers: v21,
      raw: JSON.stringify([{ op: 'replace', path: '/name', value: 'stolen' }]),
    });
    expect(byOther.status).toBe(404);
    expect((await show(alice, image.id)).name).toBe('after');
  });

  test('delete: protected refused; then a soft delete with data, rows and location gone', async () => {
    const image = await createImage(alice, { protected: true });
    await upload(alice, image.id, randomBytes(500));
    const file = `${server.datadir}/${image.id}`;
    expect(existsSync(file)).toBe(true);
    expect((await call(alice, 'DELETE', `/v2/images/${image.id}`)).status).toBe(403);
    await call(alice, 'PATCH', `/v2/images/${image.id}`, {
      headers: { 'Content-Type': 'application/openstack-images-v2.1-json-patch' },
      raw: JSON.stringify([{ op: 'replace', path: '/protected', value: false }]),
    });
    expect((await call(alice, 'DELETE', `/v2/images/${image.id}`)).status).toBe(204);
    expect((await call(alice, 'GET', `/v2/images/${image.id}`)).status).toBe(404);
    expect((await call(alice, 'DELETE', `/v2/images/${image.id}`)).status).toBe(404);
    expect(existsSync(file)).toBe(false);
    const [row] = await rows('SELECT status, deleted, deleted_at FROM images WHERE id = ?', [image.id]);
    expect(row).toMatchObject({ status: 'deleted', deleted: 1 });
    expect(row?.deleted_at).toBeInstanceOf(Date);
    const locations = await rows('SELECT status, deleted FROM image_locations WHERE image_id = ?', [
      image.id,
    ]);
    expect(locations).toEqual([expect.objectContaining({ status: 'deleted', deleted: 1 })]);
  });
});

describe('listing', () => {
  const tag = `list-${randomBytes(3).toString('hex')}`;
  const created: Image[] = [];

  beforeAll(async () => {
    for (const [i, name] of ['a-one', 'b-two', 'c-three', 'd-four', 'e-five'].entries()) {
      created.push(await createImage(alice, { name: `${tag}-${name}`, tags: [tag], min_disk: i }));
    }
    await upload(alice, created[0]!.id, randomBytes(2000));
  });

  function ids(res: Reply): string[] {
    return (res.json as { images: Image[] }).images.map((i) => i.id);
  }

  test('paging with limit follows next links to every image exactly once', async () => {
    const seen: string[] = [];
    let path: string | undefined = `/v2/images?tag=${tag}&limit=2&sort=name:asc`;
    const pages: number[] = [];
    while (path) {
      const res = await call(alice, 'GET', path);
      expect(res.status).toBe(200);
      const body = res.json as { images: Image[]; next?: string; first: string };
      pages.push(body.images.length);
      seen.push(...body.images.map((i) => i.id));
      path = body.next;
    }
    expect(seen).toEqual(created.map((i) => i.id));
    expect(pages).toEqual([2, 2, 1]);
  });

  test('filters: name, status, size_min, in:, sort direction', async () => {
    const byName = await call(alice, 'GET', `/v2/images?name=${tag}-b-two`);
    expect(ids(byName)).toEqual([created[1]!.id]);
    const active = await call(alice, 'GET', `/v2/images?tag=${tag}&status=active`);
    expect(ids(active)).toEqual([created[0]!.id]);
    const big = await call(alice, 'GET', `/v2/images?tag=${tag}&size_min=1000`);
    expect(ids(big)).toEqual([created[0]!.id]);
    const some = await call(
      alice,
      'GET',
      `/v2/images?name=in:${tag}-a-one,${tag}-e-five&sort_key=name&sort_dir=desc`,
    );
    expect(ids(some)).toEqual([created[4]!.id, created[0]!.id]);
  });

  test('other projects do not see shared images they are not members of', async () => {
    const res = await call(bob, 'GET', `/v2/images?tag=${tag}`);
    expect(ids(res)).toEqual([]);
  });

  test('visibility scoping: community only when owned or asked for, public for all, admin sees all', async () => {
    const scope = `scope-${randomBytes(3).toString('hex')}`;
    const community = await createImage(alice, { name: `${scope}-community`, visibility: 'community' });
    const priv = await createImage(alice, { name: `${scope}-private`, visibility: 'private' });
    const pub = await createImage(admin, { name: `${scope}-public`, visibility: 'public' });
    const names = async (who: Persona, q = ''): Promise<string[]> =>
      ((await call(who, 'GET', `/v2/images?sort=name:asc${q}`)).json as { images: Image[] }).images
        .map((i) => String(i.name))
        .filter((n) => n.startsWith(scope));
    expect(await names(alice)).toEqual([`${scope}-community`, `${scope}-private`, `${scope}-public`]);
    expect(await names(bob)).toEqual([`${scope}-public`]);
    expect(await names(bob, '&visibility=community')).toEqual([`${scope}-community`]);
    expect(await names(bob, '&visibility=all')).toEqual([`${scope}-community`, `${scope}-public`]);
    expect(await names(admin)).toEqual([`${scope}-private`, `${scope}-public`]);
    expect(await names(admin, '&visibility=all')).toEqual([
      `${scope}-community`,
      `${scope}-private`,
      `${scope}-public`,
    ]);
    expect((await call(bob, 'GET', `/v2/images/${community.id}`)).status).toBe(200);
    expect((await call(bob, 'GET', `/v2/images/${priv.id}`)).status).toBe(404);
    // A marker the caller may not see is refused as upstream refuses it.
    expect((await call(bob, 'GET', `/v2/images?marker=${priv.id}`)).status).toBe(403);
    expect((await call(bob, 'GET', `/v2/images?marker=${pub.id}`)).status).toBe(200);
  });

  test('bad list parameters are 400s', async () => {
    for (const q of [
      'limit=-1',
      'limit=x',
      'sort_key=nope',
      'visibility=odd',
      'marker=' + randomUUIDLike(),
      'changes-since=2020-01-01',
    ]) {
      const res = await call(alice, 'GET', `/v2/images?${q}`);
      expect([q, res.status]).toEqual([q, 400]);
    }
  });
});

describe('tags', () => {
  test('PUT is idempotent, DELETE removes, a missing tag is 404, the quota is 413', async () => {
    const image = await createImage(alice);
    expect((await call(alice, 'PUT', `/v2/images/${image.id}/tags/one`)).status).toBe(204);
    expect((await call(alice, 'PUT', `/v2/images/${image.id}/tags/one`)).status).toBe(204);
    expect((await show(alice, image.id)).tags).toEqual(['one']);
    expect((await call(alice, 'DELETE', `/v2/images/${image.id}/tags/one`)).status).toBe(204);
    expect((await call(alice, 'DELETE', `/v2/images/${image.id}/tags/one`)).status).toBe(404);
    expect((await call(alice, 'PUT', `/v2/images/${image.id}/tags/${'t'.repeat(256)}`)).status).toBe(400);
    for (let i = 0; i < TAG_QUOTA; i++) await call(alice, 'PUT', `/v2/images/${image.id}/tags/q${i}`);
    expect((await call(alice, 'PUT', `/v2/images/${image.id}/tags/over`)).status).toBe(413);
    expect((await call(bob, 'PUT', `/v2/images/${image.id}/tags/x`)).status).toBe(404);
  });
});

describe('members', () => {
  test('share, accept, list, refuse the owner, remove', async () => {
    const image = await createImage(alice, { name: 'shared-one' });
    const added = await call(alice, 'POST', `/v2/images/${image.id}/members`, {
      body: { member: bob.projectId },
    });
    expect(added.status).toBe(200);
    expect(added.json).toMatchObject({
      member_id: bob.projectId,
      image_id: image.id,
      status: 'pending',
      schema: '/v2/schemas/member',
    });
    expect(
      (await call(alice, 'POST', `/v2/images/${image.id}/members`, { body: { member: bob.projectId } }))
        .status,
    ).toBe(409);

    // Bob can see it, but it is not in his default list until he accepts.
    expect((await call(bob, 'GET', `/v2/images/${image.id}`)).status).toBe(200);
    const listIds = async (q = ''): Promise<string[]> =>
      ((await call(bob, 'GET', `/v2/images?name=shared-one${q}`)).json as { images: Image[] }).images.map(
        (i) => i.id,
      );
    expect(await listIds()).toEqual([]);
    expect(await listIds('&member_status=pending')).toEqual([image.id]);

    expect(
      (
        await call(bob, 'PUT', `/v2/images/${image.id}/members/${bob.projectId}`, {
          body: { status: 'bogus' },
        })
      ).status,
    ).toBe(400);
    const accepted = await call(bob, 'PUT', `/v2/images/${image.id}/members/${bob.projectId}`, {
      body: { status: 'accepted' },
    });
    expect(accepted.status).toBe(200);
    expect(accepted.json).toMatchObject({ status: 'accepted' });
    expect(await listIds()).toEqual([image.id]);
    const ownerAnswers = await call(alice, 'PUT', `/v2/images/${image.id}/members/${bob.projectId}`, {
      body: { status: 'rejected' },
    });
    expect(ownerAnswers.status).toBe(403);

    const members = await call(alice, 'GET', `/v2/images/${image.id}/members`);
    expect(members.json).toMatchObject({
      schema: '/v2/schemas/members',
      members: [{ member_id: bob.projectId }],
    });
    expect((await call(bob, 'GET', `/v2/images/${image.id}/members/${bob.projectId}`)).status).toBe(200);
    expect((await call(alice, 'GET', `/v2/images/${image.id}/members/nobody`)).status).toBe(404);

    expect((await call(bob, 'DELETE', `/v2/images/${image.id}/members/${bob.projectId}`)).status).toBe(403);
    expect((await call(alice, 'DELETE', `/v2/images/${image.id}/members/${bob.projectId}`)).status).toBe(204);
    expect((await call(bob, 'GET', `/v2/images/${image.id}`)).status).toBe(404);
    // Re-adding revives the deleted membership as pending.
    const again = await call(alice, 'POST', `/v2/images/${image.id}/members`, {
      body: { member: bob.projectId },
    });
    expect(again.json).toMatchObject({ status: 'pending' });
  });

  test('only shared images have members; bodies are checked', async () => {
    const image = await createImage(alice, { visibility: 'private' });
    const res = await call(alice, 'POST', `/v2/images/${image.id}/members`, {
      body: { member: bob.projectId },
    });
    expect(res.status).toBe(403);
    const shared = await createImage(alice);
    for (const body of [{}, { member: '' }, ['x'], { member: 5 }]) {
      const bad = await call(alice, 'POST', `/v2/images/${shared.id}/members`, { body });
      expect([JSON.stringify(body), bad.status]).toEqual([JSON.stringify(body), 400]);
    }
  });
});

describe('failed uploads leave the image queued with no data and no location', () => {
  async function expectClean(id: string): Promise<void> {
    const image = await show(alice, id);
    expect(image).toMatchObject({ status: 'queued', size: null, checksum: null });
    expect(existsSync(`${server.datadir}/${id}`)).toBe(false);
    expect(await rows('SELECT id FROM image_locations WHERE image_id = ?', [id])).toEqual([]);
  }

  test('past image_size_cap while streaming: 413', async () => {
    const image = await createImage(alice);
    const res = await upload(alice, image.id, slowBody(randomBytes(CAP + 1), 4, 5));
    expect(res.status).toBe(413);
    expect(message(res)).toMatch(/^The incoming image is too large/);
    await expectClean(image.id);
  });

  test('a declared Content-Length past the cap: 413 before any data is read', async () => {
    const image = await createImage(alice);
    expect((await upload(alice, image.id, randomBytes(CAP + 1))).status).toBe(413);
    await expectClean(image.id);
  });

  test('a client that disconnects mid-upload', async () => {
    const image = await createImage(alice);
    await abortedUpload(server.base, alice, image.id, 50_000, randomBytes(5_000));
    const deadline = Date.now() + 10_000;
    while ((await show(alice, image.id)).status !== 'queued' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    await expectClean(image.id);
    // The image accepts a new upload afterwards.
    expect((await upload(alice, image.id, randomBytes(10))).status).toBe(204);
  });

  test('two concurrent uploads: exactly one wins, the other gets 409', async () => {
    const image = await createImage(alice);
    const first = randomBytes(20_000);
    const slow = upload(alice, image.id, slowBody(first, 10, 50));
    await new Promise((r) => setTimeout(r, 150));
    const quick = await upload(alice, image.id, randomBytes(100));
    expect(quick.status).toBe(409);
    expect((await slow).status).toBe(204);
    expect(await show(alice, image.id)).toMatchObject({ status: 'active', checksum: md5(first) });
    expect(
      await rows('SELECT id FROM image_locations WHERE image_id = ? AND deleted = 0', [image.id]),
    ).toHaveLength(1);
  });
});

describe('bad input is a clear 4xx, never a 5xx, and writes nothing', () => {
  test('every request in the list', async () => {
    const image = await createImage(alice);
    const imagesBefore = await rows('SELECT COUNT(*) AS n FROM images', []);
    const filesBefore = storedFiles();
    const json = { 'Content-Type': 'application/json' };
    const patch = { 'Content-Type': 'application/openstack-images-v2.1-json-patch' };
    const octets = { 'Content-Type': 'application/octet-stream' };
    const cases: [string, string, { raw?: string; headers?: Record<string, string> }, number][] = [
      ['POST', '/v2/images', { raw: '{"name": ', headers: json }, 400],
      ['POST', '/v2/images', { raw: '[1, 2]', headers: json }, 400],
      ['POST', '/v2/images', { raw: '"text"', headers: json }, 400],
      ['POST', '/v2/images', { raw: '{"name": 5}', headers: json }, 400],
      ['POST', '/v2/images', { raw: '{"custom": {"nested": 1}}', headers: json }, 400],
      ['POST', '/v2/images', { raw: '{"disk_format": "floppy"}', headers: json }, 400],
      ['POST', '/v2/images', { raw: '{"status": "active"}', headers: json }, 403],
      ['POST', '/v2/images', { raw: '{"os_glance_import_task": "x"}', headers: json }, 403],
      ['POST', '/v2/images', { raw: '{"id": "not-a-uuid"}', headers: json }, 400],
      ['POST', '/v2/images', { raw: '{"visibility": "public"}', headers: json }, 403],
      [
        'POST',
        '/v2/images',
        { raw: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }), headers: json },
        413,
      ],
      [
        'PATCH',
        `/v2/images/${image.id}`,
        { raw: '[{"op": "explode", "path": "/name"}]', headers: patch },
        400,
      ],
      ['PATCH', `/v2/images/${image.id}`, { raw: '{"op": "add"}', headers: patch }, 400],
      ['PATCH', `/v2/images/${image.id}`, { raw: '[]', headers: { 'Content-Type': 'text/plain' } }, 415],
      ['PUT', `/v2/images/${image.id}/file`, { raw: 'abc', headers: { 'Content-Type': 'image/png' } }, 415],
      ['PUT', `/v2/images/${image.id}/file`, { raw: 'abc' }, 415],
      ['GET', `/v2/images/${image.id}`, { raw: 'body', headers: json }, 400],
      ['DELETE', `/v2/images/${image.id}`, { raw: 'body', headers: json }, 400],
      ['GET', '/v2/images/..%2F..%2Fetc%2Fpasswd', {}, 404],
      ['GET', '/v2/images/%2e%2e', {}, 404],
      ['GET', `/v2/images/${image.id}%00`, {}, 404],
      ['PUT', `/v2/images/..%2F${image.id}/file`, { raw: 'abc', headers: octets }, 404],
      ['GET', `/v2/images/${'a'.repeat(300)}`, {}, 404],
      ['GET', '/v2/images/%E0%A4%A', {}, 400],
      ['GET', `/v2/images/${image.id}/members/${'m'.repeat(300)}`, {}, 404],
      ['PUT', `/v2/images/${image.id}/tags/${encodeURIComponent('\u{1F600}')}`, {}, 400],
    ];
    for (const [method, path, opts, expected] of cases) {
      // fetch refuses a body on GET; node:http sends one, as a misbehaving client would.
      const res =
        method === 'GET' && opts.raw !== undefined
          ? await rawRequest(
              server.base,
              method,
              path,
              { 'X-Auth-Token': alice.token, ...opts.headers },
              opts.raw,
            )
          : await call(alice, method, path, opts);
      expect([method, path.slice(0, 80), res.status]).toEqual([method, path.slice(0, 80), expected]);
      expect([path.slice(0, 80), res.headers.get('x-openstack-request-id')]).toEqual([
        path.slice(0, 80),
        expect.stringMatching(/^req-/),
      ]);
    }
    const huge = await rawRequest(server.base, 'GET', '/v2/images', {
      'X-Auth-Token': alice.token,
      'X-Padding': 'p'.repeat(40 * 1024),
    });
    expect(huge.status).toBe(431);
    const longId = await call(alice, 'GET', '/v2/images', {
      headers: { 'X-Openstack-Request-ID': 'r'.repeat(65) },
    });
    expect(longId.status).toBe(431);

    expect(await rows('SELECT COUNT(*) AS n FROM images', [])).toEqual(imagesBefore);
    expect(storedFiles()).toEqual(filesBefore);
    expect((await show(alice, image.id)).status).toBe('queued');
  });
});

describe('user_storage_quota', () => {
  const quotaServer = new ApiServer({ db, workers: 1, defaults: { user_storage_quota: '3KB' } });

  beforeAll(async () => {
    await quotaServer.writeConfig();
    await quotaServer.start();
  });

  afterAll(async () => {
    await quotaServer.stop();
    quotaServer.cleanup();
  });

  test('an upload past the remaining quota is 413 and leaves nothing; one within it succeeds', async () => {
    const q = client(quotaServer.base);
    const owner = await keystone.memberPersona('quota');
    const make = async (): Promise<string> =>
      (
        (await q(owner, 'POST', '/v2/images', { body: { disk_format: 'raw', container_format: 'bare' } }))
          .json as Image
      ).id;
    const put = (id: string, data: Uint8Array | ReadableStream<Uint8Array>) =>
      q(owner, 'PUT', `/v2/images/${id}/file`, {
        raw: data,
        headers: { 'Content-Type': 'application/octet-stream' },
      });
    const first = await make();
    expect((await put(first, randomBytes(2048))).status).toBe(204);
    const second = await make();
    const declared = await put(second, randomBytes(2048));
    expect(declared.status).toBe(413);
    expect(message(declared)).toMatch(/^Image exceeds the storage quota/);
    const streamed = await put(second, slowBody(randomBytes(2048), 4, 5));
    expect(streamed.status).toBe(413);
    const after = (await q(owner, 'GET', `/v2/images/${second}`)).json as Image;
    expect(after).toMatchObject({ status: 'queued', size: null });
    expect(existsSync(`${quotaServer.datadir}/${second}`)).toBe(false);
    expect((await put(second, randomBytes(1000))).status).toBe(204);
  });

  test('SIGTERM lets an in-flight upload finish, then the server exits 0', async () => {
    const q = client(quotaServer.base);
    const owner = await keystone.memberPersona('drain');
    const id = (
      (await q(owner, 'POST', '/v2/images', { body: { disk_format: 'raw', container_format: 'bare' } }))
        .json as Image
    ).id;
    const data = randomBytes(1500);
    const inflight = q(owner, 'PUT', `/v2/images/${id}/file`, {
      raw: slowBody(data, 6, 200),
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    await new Promise((r) => setTimeout(r, 300));
    const exit = quotaServer.stop();
    expect((await inflight).status).toBe(204);
    expect(await exit).toBe(0);
    const [row] = await rows('SELECT status, checksum FROM images WHERE id = ?', [id]);
    expect(row).toMatchObject({ status: 'active', checksum: md5(data) });
  });
});
