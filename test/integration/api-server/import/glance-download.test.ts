import { createHash, randomBytes } from 'node:crypto';
import { loadStackEnv } from '../../../harness/stack-env.js';
import { client, md5, type Reply } from '../client.js';
import { KeystoneFixture, type Persona } from '../keystone.js';
import { requireBuild, ScratchDatabase } from '../server.js';
import { eventually, ImportServer } from './fixtures.js';

// glance-download on our api-server, run as operators run it: it imports an image from the stack's upstream
// glance-api (region RegionOne of the Keystone catalog) with the user's own token, as upstream does between
// regions. The source images live on upstream; ours has a database of its own, so whatever our image ends up
// with came through the import.

const env = loadStackEnv();
const UPSTREAM = env.UPSTREAM_GLANCE_URL ?? '';
const REGION = env.OS_REGION_NAME ?? '';
const keystone = new KeystoneFixture();
const db = new ScratchDatabase();
const ours = new ImportServer(
  {
    db,
    workers: 1,
    defaults: { enabled_import_methods: '[glance-direct, web-download, glance-download]' },
  },
  // Upstream listens on a loopback address and port, which the import filter must be told to allow.
  { allowed_hosts: '[127.0.0.1]', allowed_ports: `[80, 443, ${new URL(UPSTREAM).port}]` },
);
let alice: Persona;
let call: ReturnType<typeof client>;
const upstream = client(UPSTREAM);
const upstreamImages: string[] = [];

type Image = Record<string, unknown> & { id: string; status: string };
type Task = { id: string; status: string; message: string; input: { import_req: { method: unknown } } };

const DATA = randomBytes(300_000);

beforeAll(async () => {
  requireBuild();
  await db.create();
  await ours.writeConfig();
  const sync = await ours.run(['db-sync']);
  if (sync.code !== 0) throw new Error(`db-sync failed:\n${sync.output}`);
  await ours.start();
  call = client(ours.base);
  await keystone.adminPersona();
  alice = await keystone.memberPersona('gdl');
});

afterAll(async () => {
  for (const id of upstreamImages) await upstream(alice, 'DELETE', `/v2/images/${id}`).catch(() => undefined);
  await ours.stop();
  await keystone.cleanup();
  await db.drop();
  ours.cleanup();
});

function expectStatus(res: Reply, status: number): void {
  if (res.status !== status) throw new Error(`expected HTTP ${status}, got ${res.status}: ${res.text}`);
}

/** An image on upstream, with `data` uploaded (active) unless `data` is null (queued). */
async function upstreamImage(properties: Record<string, string>, data: Buffer | null): Promise<Image> {
  const created = await upstream(alice, 'POST', '/v2/images', {
    body: { name: 'gd-source', disk_format: 'qcow2', container_format: 'bare', ...properties },
  });
  expectStatus(created, 201);
  const image = created.json as Image;
  upstreamImages.push(image.id);
  if (data !== null) {
    const put = await upstream(alice, 'PUT', `/v2/images/${image.id}/file`, {
      raw: data,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    expectStatus(put, 204);
  }
  const shown = await upstream(alice, 'GET', `/v2/images/${image.id}`);
  return shown.json as Image;
}

async function ourImage(): Promise<Image> {
  const res = await call(alice, 'POST', '/v2/images', {
    body: {
      name: 'gd-target',
      disk_format: 'iso',
      container_format: 'ovf',
      hw_cpu_cores: '1',
      os_distro: 'windows',
    },
  });
  expectStatus(res, 201);
  return res.json as Image;
}

async function glanceDownload(imageId: string, method: Record<string, string>): Promise<Reply> {
  return call(alice, 'POST', `/v2/images/${imageId}/import`, {
    body: { method: { name: 'glance-download', ...method } },
  });
}

async function finishedTask(imageId: string): Promise<Task> {
  return eventually(`the import task of ${imageId} to end`, async () => {
    const res = await call(alice, 'GET', `/v2/images/${imageId}/tasks`);
    const task = (res.json as { tasks: Task[] }).tasks[0];
    return task && (task.status === 'success' || task.status === 'failure') ? task : undefined;
  });
}

describe('glance-download from upstream glance-api', () => {
  it('is announced in /v2/info/import', async () => {
    const res = await call(alice, 'GET', '/v2/info/import');
    expect((res.json as { 'import-methods': { value: string[] } })['import-methods'].value).toContain(
      'glance-download',
    );
  });

  it("copies the remote image's data, formats and configured properties", async () => {
    const source = await upstreamImage(
      { hw_cpu_cores: '5', 'trait:STORAGE_DISK_SSD': 'required', os_distro: 'rhel', speed: '88mph' },
      DATA,
    );
    expect(source.status).toBe('active');
    const target = await ourImage();
    const accepted = await glanceDownload(target.id, { glance_image_id: source.id, glance_region: REGION });
    expectStatus(accepted, 202);
    const task = await finishedTask(target.id);
    expect(task).toMatchObject({ status: 'success' });
    // The interface upstream fills in when the request names none.
    expect(task.input.import_req.method).toMatchObject({ glance_service_interface: 'public' });

    const image = (await call(alice, 'GET', `/v2/images/${target.id}`)).json as Image;
    expect(image).toMatchObject({
      status: 'active',
      disk_format: source.disk_format,
      container_format: source.container_format,
      size: DATA.length,
      checksum: source.checksum,
      os_hash_algo: source.os_hash_algo,
      os_hash_value: source.os_hash_value,
      hw_cpu_cores: '5',
      'trait:STORAGE_DISK_SSD': 'required',
      os_distro: 'rhel',
    });
    expect(image).not.toHaveProperty('speed');
    expect(image.checksum).toBe(md5(DATA));
    const file = await fetch(`${ours.base}/v2/images/${target.id}/file`, {
      headers: { 'X-Auth-Token': alice.token },
    });
    const bytes = Buffer.from(await file.arrayBuffer());
    expect(createHash('sha512').update(bytes).digest('hex')).toBe(
      createHash('sha512').update(DATA).digest('hex'),
    );
  });

  it('fails the task and leaves the image as it was when the remote image cannot be imported', async () => {
    const queued = await upstreamImage({ os_distro: 'rhel' }, null);
    const missing = '36d4b546-64a2-4bb9-bdd0-ba676aa48f2c';
    const cases: Array<[Record<string, string>, string]> = [
      [
        { glance_image_id: queued.id, glance_region: REGION },
        'Source image status should be active instead of queued',
      ],
      [{ glance_image_id: missing, glance_region: REGION }, 'HTTP Error 404'],
      [
        { glance_image_id: missing, glance_region: 'not a region', glance_service_interface: 'public' },
        'public glance endpoint not found for region not a region',
      ],
      [
        { glance_image_id: missing, glance_region: REGION, glance_service_interface: 'not an interface' },
        'not an interface glance endpoint not found for region',
      ],
    ];
    for (const [method, message] of cases) {
      const target = await ourImage();
      expectStatus(await glanceDownload(target.id, method), 202);
      const task = await finishedTask(target.id);
      expect({ method, status: task.status, message: task.message }).toEqual({
        method,
        status: 'failure',
        message: expect.stringContaining(message),
      });
      const image = (await call(alice, 'GET', `/v2/images/${target.id}`)).json as Image;
      expect(image).toMatchObject({
        status: 'queued',
        disk_format: 'iso',
        container_format: 'ovf',
        hw_cpu_cores: '1',
        os_distro: 'windows',
      });
    }
  });

  it('refuses at once a remote image id that is not a UUID', async () => {
    const target = await ourImage();
    const res = await glanceDownload(target.id, { glance_image_id: 'foo', glance_region: REGION });
    expect(res.status).toBe(400);
    expect(res.text).toContain('Remote image id does not look like a UUID: foo');
    const tasks = await call(alice, 'GET', `/v2/images/${target.id}/tasks`);
    expect((tasks.json as { tasks: Task[] }).tasks).toEqual([]);
  });
});
