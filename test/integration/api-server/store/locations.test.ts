import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiServer, requireBuild, ScratchDatabase, startOnScratchDatabase } from '../server.js';
import { adminToken, call, downloadSha256, sha256 } from './fixtures.js';

// Image locations as Tempest's ImageLocationsTest and Nova use them: with show_multiple_locations and
// show_image_direct_url on, images whose data an http server holds (upstream's http store).

const DATA = randomBytes(2 * 1024 * 1024 + 99);
let web: Server;
let url = '';
const db = new ScratchDatabase();
let server: ApiServer;
let token: string;

beforeAll(async () => {
  requireBuild();
  web = createServer((req, res) => {
    if (req.url?.startsWith('/image.raw')) {
      res.writeHead(200, { 'Content-Length': String(DATA.length) });
      res.end(req.method === 'HEAD' ? undefined : DATA);
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  const port = (web.address() as AddressInfo).port;
  url = `http://127.0.0.1:${port}/image.raw`;
  server = new ApiServer({
    db,
    workers: 1,
    defaults: { show_multiple_locations: 'True', show_image_direct_url: 'True' },
    // The server fetches only from hosts and ports the import filter allows, as Debian's upstream does.
    sections: { import_filtering_opts: { allowed_hosts: '[127.0.0.1]', allowed_ports: String(port) } },
  });
  await startOnScratchDatabase(db, server);
  token = await adminToken();
});

afterAll(async () => {
  await server.stop();
  server.cleanup();
  await db.drop();
  await new Promise((resolve) => web.close(resolve));
});

async function queuedImage(): Promise<string> {
  const res = await call(server.base, token, 'POST', '/v2/images', {
    disk_format: 'raw',
    container_format: 'bare',
  });
  expect(res.status).toBe(201);
  expect(res.json().locations).toEqual([]);
  return res.json().id as string;
}

const patch = (id: string, ops: unknown[]) =>
  call(server.base, token, 'PATCH', `/v2/images/${id}`, ops, {
    'Content-Type': 'application/openstack-images-v2.1-json-patch',
  });

test('adding an http location activates a queued image, sized by HEAD and served from the http server', async () => {
  const id = await queuedImage();
  const res = await patch(id, [
    { op: 'add', path: '/locations/-', value: { url, metadata: { foo: 'bar' } } },
  ]);
  expect(res.status).toBe(200);
  const image = (await call(server.base, token, 'GET', `/v2/images/${id}`)).json();
  expect(image).toMatchObject({
    status: 'active',
    size: DATA.length,
    direct_url: url,
    locations: [{ url, metadata: { foo: 'bar' } }],
    os_hash_value: null,
  });
  expect(await downloadSha256(server.base, token, id)).toBe(sha256(DATA));
  // Range requests work even though this http server ignores Range.
  const part = await fetch(`${server.base}/v2/images/${id}/file`, {
    headers: { 'X-Auth-Token': token, Range: 'bytes=100-199' },
  });
  expect(part.status).toBe(206);
  expect(Buffer.from(await part.arrayBuffer()).equals(DATA.subarray(100, 200))).toBe(true);
});

test('locations with unknown or forbidden schemes, or without data behind them, are refused with 400', async () => {
  const id = await queuedImage();
  for (const bad of [
    'gopher://info.cern.ch',
    'file:///etc/passwd',
    `${url.replace('image.raw', 'missing')}`,
  ]) {
    const res = await patch(id, [{ op: 'add', path: '/locations/-', value: { url: bad, metadata: {} } }]);
    expect(res.status).toBe(400);
    expect(res.text).toContain('Invalid location');
  }
  // A host the import filter does not allow is refused the same way (no request leaves the server).
  const blocked = await patch(id, [
    { op: 'add', path: '/locations/-', value: { url: 'http://169.254.169.254/latest', metadata: {} } },
  ]);
  expect(blocked.status).toBe(400);
  expect((await call(server.base, token, 'GET', `/v2/images/${id}`)).json().status).toBe('queued');
});

test('replace keeps the URLs (metadata may change), remove drops one, and the last location stays', async () => {
  const id = await queuedImage();
  const second = `${url}?copy=2`;
  expect((await patch(id, [{ op: 'add', path: '/locations/-', value: { url, metadata: {} } }])).status).toBe(
    200,
  );
  expect(
    (
      await patch(id, [
        { op: 'add', path: '/locations/-', value: { url: second, metadata: { speed: '88mph' } } },
      ])
    ).status,
  ).toBe(200);
  const locations = [
    { url, metadata: { date: '2015-10-15' } },
    { url: second, metadata: { speed: '88mph' } },
  ];
  expect((await patch(id, [{ op: 'replace', path: '/locations', value: locations }])).status).toBe(200);
  expect((await call(server.base, token, 'GET', `/v2/images/${id}`)).json().locations).toEqual(locations);

  const dropping = await patch(id, [{ op: 'replace', path: '/locations', value: [locations[0]] }]);
  expect(dropping.status).toBe(400);
  expect(dropping.text).toContain('Original locations is not empty');

  expect((await patch(id, [{ op: 'remove', path: '/locations/0' }])).status).toBe(200);
  const after = (await call(server.base, token, 'GET', `/v2/images/${id}`)).json();
  expect(after.locations).toEqual([locations[1]]);
  expect(after.direct_url).toBe(second);
  const last = await patch(id, [{ op: 'remove', path: '/locations/0' }]);
  expect(last.status).toBe(403);
  expect(last.text).toContain('Cannot remove last location in the image.');
  // The http server's data is never removed by Glance.
  expect(await downloadSha256(server.base, token, id)).toBe(sha256(DATA));
});

test("validation_data sets the queued image's hashes; conflicting values are refused with 409", async () => {
  const id = await queuedImage();
  const validation = {
    checksum: '1'.repeat(32),
    os_hash_algo: 'sha512',
    os_hash_value: 'deadbeef'.repeat(16),
  };
  const res = await patch(id, [
    { op: 'add', path: '/locations/-', value: { url, metadata: {}, validation_data: validation } },
  ]);
  expect(res.status).toBe(200);
  expect((await call(server.base, token, 'GET', `/v2/images/${id}`)).json()).toMatchObject({
    status: 'active',
    checksum: validation.checksum,
    os_hash_value: validation.os_hash_value,
  });
  const conflict = await patch(id, [
    {
      op: 'add',
      path: '/locations/-',
      value: { url: `${url}?x`, metadata: {}, validation_data: { ...validation, checksum: '2'.repeat(32) } },
    },
  ]);
  expect(conflict.status).toBe(409);
  expect(conflict.text).toContain('checksum is already set with a different value');
});
