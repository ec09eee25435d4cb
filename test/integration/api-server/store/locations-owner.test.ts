import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KeystoneFixture, type Persona } from '../keystone.js';
import { ApiServer, requireBuild, ScratchDatabase } from '../server.js';
import { call, RBD_OPTIONS } from './fixtures.js';

// Image locations are the owner's (or an admin's) to change, whoever else may see the image: upstream refuses
// anyone else when it saves the image (is_image_mutable in glance/db/sqlalchemy/api.py: 403 "You do not own this
// image"), under the legacy policy and secure RBAC alike. Another project's member tries every location operation
// on a public image of the admin's project. (Upstream on the same configuration answers the admin's own http
// location add with 400 Invalid location on this stack, so it cannot serve as the reference here yet.)

const DATA = randomBytes(64 * 1024);
let web: Server;
let url = '';
let port = 0;
const keystone = new KeystoneFixture();
const db = new ScratchDatabase();
let ours: ApiServer;
let admin: Persona;
let bob: Persona;

beforeAll(async () => {
  requireBuild();
  web = createServer((req, res) => {
    res.writeHead(200, { 'Content-Length': String(DATA.length) });
    res.end(req.method === 'HEAD' ? undefined : DATA);
  });
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  port = (web.address() as AddressInfo).port;
  url = `http://127.0.0.1:${port}/image.raw`;
  const filter = { allowed_hosts: '[127.0.0.1]', allowed_ports: String(port) };
  ours = new ApiServer({
    db,
    workers: 1,
    defaults: { show_multiple_locations: 'True' },
    glanceStore: { stores: 'rbd,http', default_store: 'rbd', ...RBD_OPTIONS() },
    sections: { import_filtering_opts: filter },
  });
  await db.create();
  await ours.writeConfig();
  const sync = await ours.run(['db-sync']);
  if (sync.code !== 0) throw new Error(`db-sync failed:\n${sync.output}`);
  await ours.start();
  admin = await keystone.adminPersona();
  bob = await keystone.memberPersona('bob');
});

afterAll(async () => {
  await ours?.stop();
  ours?.cleanup();
  await keystone.cleanup();
  await db.drop();
  await new Promise((resolve) => web.close(resolve));
});

const patch = (base: string, who: Persona, id: string, ops: unknown[]) =>
  call(base, who.token, 'PATCH', `/v2/images/${id}`, ops, {
    'Content-Type': 'application/openstack-images-v2.1-json-patch',
  });

/** A public image of the admin's project, active on one http location. */
async function publicImage(base: string): Promise<string> {
  const created = await call(base, admin.token, 'POST', '/v2/images', {
    disk_format: 'raw',
    container_format: 'bare',
    visibility: 'public',
  });
  expect(created.status).toBe(201);
  const id = created.json().id as string;
  const added = await patch(base, admin, id, [
    { op: 'add', path: '/locations/-', value: { url, metadata: {} } },
  ]);
  expect(added.status).toBe(200);
  return id;
}

describe.each([
  [
    'adds a location',
    (u: string) => [{ op: 'add', path: '/locations/-', value: { url: u, metadata: { a: 1 } } }],
  ],
  [
    'replaces the locations',
    (u: string) => [{ op: 'replace', path: '/locations', value: [{ url: u, metadata: {} }] }],
  ],
  ['removes a location', () => [{ op: 'remove', path: '/locations/0' }]],
])("another project's member who %s of a public image", (_, ops) => {
  it('is refused with 403 "You do not own this image", and the locations stay', async () => {
    const id = await publicImage(ours.base);
    const res = await patch(ours.base, bob, id, ops(`${url}?other`));
    expect(res.status).toBe(403);
    expect(res.text).toContain('You do not own this image');
    const after = await call(ours.base, admin.token, 'GET', `/v2/images/${id}`);
    expect(after.json().locations).toEqual([{ url, metadata: {} }]);
    await call(ours.base, admin.token, 'DELETE', `/v2/images/${id}`);
  });
});
