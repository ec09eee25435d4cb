import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KeystoneFixture, type Persona } from '../keystone.js';
import { ApiServer, requireBuild, ScratchDatabase } from '../server.js';
import { call, RBD_OPTIONS, UpstreamGlance } from './fixtures.js';

// Image locations are the owner's (or an admin's) to change, whoever else may see the image: upstream refuses
// anyone else when it saves the image (is_image_mutable, in its database layer), under the legacy policy and
// secure RBAC alike. Both servers run on one database with show_multiple_locations on, and another project's
// member tries every location operation on a public image of the admin's project.

const DATA = randomBytes(64 * 1024);
let web: Server;
let url = '';
let port = 0;
const keystone = new KeystoneFixture();
const db = new ScratchDatabase();
let ours: ApiServer;
let upstream: UpstreamGlance;
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
  upstream = new UpstreamGlance(db, {
    DEFAULT: { show_multiple_locations: 'True' },
    glance_store: { stores: 'rbd,http' },
    import_filtering_opts: filter,
  });
  await db.create();
  await ours.writeConfig();
  const sync = await ours.run(['db-sync']);
  if (sync.code !== 0) throw new Error(`db-sync failed:\n${sync.output}`);
  await ours.start();
  await upstream.start();
  admin = await keystone.adminPersona();
  bob = await keystone.memberPersona('bob');
});

afterAll(async () => {
  await ours?.stop();
  await upstream?.stop();
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

const servers = () => [
  ['ours', ours.base],
  ['upstream', upstream.base],
];

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
  it('is refused alike by both servers, and the locations stay', async () => {
    const answers: Record<string, { status: number; body: string; locations: unknown }> = {};
    for (const [name, base] of servers()) {
      const id = await publicImage(base!);
      const res = await patch(base!, bob, id, ops(`${url}?other`));
      const after = await call(base!, admin.token, 'GET', `/v2/images/${id}`);
      answers[name!] = {
        status: res.status,
        body: res.text.replace(/\s+/g, ' ').trim(),
        locations: after.json().locations,
      };
      await call(base!, admin.token, 'DELETE', `/v2/images/${id}`);
    }
    expect(answers.upstream?.status).toBe(403);
    expect(answers.ours).toEqual(answers.upstream);
    expect(answers.ours?.locations).toEqual([{ url, metadata: {} }]);
  });
});
