import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { client, md5, sha512, type Reply } from '../client.js';
import { KeystoneFixture, type Persona } from '../keystone.js';
import { adminConnection, requireBuild, ScratchDatabase } from '../server.js';
import { eventually, ImageSource, ImportServer, qcow2Image } from './fixtures.js';

// Interoperable image import and tasks on our api-server, built and run as operators run it, with real
// Keystone tokens, a real MariaDB and a real HTTP server for web-download. Two servers share one database:
// `trusting` allows 127.0.0.1 (as the stack does for Tempest's http_image), `strict` keeps the default filter.

const CAP = 1024 * 1024;
const keystone = new KeystoneFixture();
const db = new ScratchDatabase();
const source = new ImageSource();
let trusting: ImportServer;
const strict = new ImportServer({ db, workers: 1, defaults: { image_size_cap: CAP } }, null);
let sql: Connection;
let admin: Persona;
let alice: Persona;
let bob: Persona;
let call: ReturnType<typeof client>;
let callStrict: ReturnType<typeof client>;

type Image = Record<string, unknown> & { id: string; status: string };
type Task = Record<string, unknown> & { id: string; status: string; message: string };

const RAW = randomBytes(200_000);
const QCOW2 = qcow2Image(16n * 1024n * 1024n, 70_000);

beforeAll(async () => {
  requireBuild();
  source.route('/image.qcow2', (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': QCOW2.length });
    res.end(QCOW2);
  });
  source.route('/moved', (_req, res) => res.writeHead(302, { Location: '/image.qcow2' }).end());
  source.route('/to-metadata', (_req, res) =>
    res.writeHead(302, { Location: 'http://169.254.169.254/latest/meta-data/' }).end(),
  );
  source.route('/to-private', (_req, res) => res.writeHead(301, { Location: 'http://10.20.30.40/x' }).end());
  source.route('/truncated', (_req, res) => {
    res.writeHead(200, { 'Content-Length': '100000' });
    res.write(QCOW2.subarray(0, 1000), () => res.destroy());
  });
  await source.start();
  trusting = new ImportServer(
    { db, workers: 2, defaults: { image_size_cap: CAP } },
    { allowed_hosts: '[127.0.0.1]', allowed_ports: `[80, 443, ${source.port}]` },
  );
  await db.create();
  await trusting.writeConfig();
  await strict.writeConfig();
  const sync = await trusting.run(['db-sync']);
  if (sync.code !== 0) throw new Error(`db-sync failed:\n${sync.output}`);
  await trusting.start();
  await strict.start();
  call = client(trusting.base);
  callStrict = client(strict.base);
  admin = await keystone.adminPersona();
  alice = await keystone.memberPersona('alice');
  bob = await keystone.memberPersona('bob');
  sql = await adminConnection(db.name);
});

afterAll(async () => {
  await trusting?.stop();
  await strict.stop();
  await source.stop();
  await sql?.end();
  await keystone.cleanup();
  await db.drop();
  trusting?.cleanup();
  strict.cleanup();
});

async function createImage(who: Persona, body: Record<string, unknown> = {}): Promise<Image> {
  const res = await call(who, 'POST', '/v2/images', {
    body: { disk_format: 'raw', container_format: 'bare', ...body },
  });
  expect(res.status).toBe(201);
  return res.json as Image;
}

async function show(who: Persona, id: string): Promise<Image> {
  const res = await call(who, 'GET', `/v2/images/${id}`);
  expect(res.status).toBe(200);
  return res.json as Image;
}

function stage(who: Persona, id: string, data: Uint8Array): Promise<Reply> {
  return call(who, 'PUT', `/v2/images/${id}/stage`, {
    raw: data,
    headers: { 'Content-Type': 'application/octet-stream' },
  });
}

function importImage(who: Persona, id: string, body: Record<string, unknown>, api = call): Promise<Reply> {
  return api(who, 'POST', `/v2/images/${id}/import`, { body });
}

async function imageTasks(who: Persona, id: string): Promise<Task[]> {
  const res = await call(who, 'GET', `/v2/images/${id}/tasks`);
  expect(res.status).toBe(200);
  return (res.json as { tasks: Task[] }).tasks;
}

/** The image's single import task once it has ended. */
function finishedTask(who: Persona, id: string): Promise<Task> {
  return eventually(`the import task of ${id}`, async () => {
    const tasks = await imageTasks(who, id);
    const task = tasks[0];
    return task && (task.status === 'success' || task.status === 'failure') ? task : undefined;
  });
}

async function rows(query: string, params: unknown[]): Promise<RowDataPacket[]> {
  const [result] = await sql.query<RowDataPacket[]>(query, params);
  return result;
}

async function download(who: Persona, id: string): Promise<Buffer> {
  const res = await fetch(`${trusting.base}/v2/images/${id}/file`, {
    headers: { 'X-Auth-Token': who.token },
  });
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

describe('discovery', () => {
  it('lists the configured import methods and, without enabled_backends, no v2.12', async () => {
    const info = await call(alice, 'GET', '/v2/info/import');
    expect(info.json).toEqual({
      'import-methods': {
        description: 'Import methods available.',
        type: 'array',
        value: ['glance-direct', 'web-download', 'copy-image'],
      },
    });
    const versions = (await call(null, 'GET', '/versions')).json as { versions: Array<{ id: string }> };
    const ids = versions.versions.map((v) => v.id);
    expect(ids).toContain('v2.9');
    expect(ids).not.toContain('v2.12');
  });
});

describe('glance-direct', () => {
  it('stages, imports through the upload pipeline and records the task', async () => {
    const image = await createImage(alice, { name: 'direct' });
    const staged = await stage(alice, image.id, RAW);
    expect(staged.status).toBe(204);
    expect(await show(alice, image.id)).toMatchObject({
      status: 'uploading',
      size: RAW.length,
      checksum: null,
    });
    expect(readdirSync(trusting.stagingDir)).toContain(image.id);

    const accepted = await importImage(alice, image.id, { method: { name: 'glance-direct' } });
    expect(accepted.status).toBe(202);
    expect(accepted.text).toBe('');
    const task = await finishedTask(alice, image.id);
    expect(task).toMatchObject({
      status: 'success',
      type: 'api_image_import',
      owner: alice.projectId,
      user_id: alice.userId,
      image_id: image.id,
      request_id: accepted.headers.get('x-openstack-request-id'),
      input: { image_id: image.id, import_req: { method: { name: 'glance-direct' } }, backend: [null] },
      result: { image_id: image.id },
      message: 'Copied 0 MiB',
      deleted: false,
    });
    expect(task.expires_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000000$/);

    const active = await show(alice, image.id);
    expect(active).toMatchObject({
      status: 'active',
      size: RAW.length,
      virtual_size: RAW.length,
      checksum: md5(RAW),
      os_hash_algo: 'sha512',
      os_hash_value: sha512(RAW),
      os_glance_importing_to_stores: '',
      os_glance_failed_import: '',
    });
    expect(active).not.toHaveProperty('os_glance_import_task');
    expect(await download(alice, image.id)).toEqual(RAW);
    // The staged copy is gone; the data is in the image store.
    expect(readdirSync(trusting.stagingDir)).not.toContain(image.id);
    expect(existsSync(path.join(trusting.datadir, image.id))).toBe(true);
    const [info] = await rows('SELECT input, result, message FROM task_info WHERE task_id = ?', [task.id]);
    expect(info?.input).toBe(
      `{"image_id": "${image.id}", "import_req": {"method": {"name": "glance-direct"}}, "backend": [null]}`,
    );
  });

  it('refuses what upstream refuses, leaving the image as it was', async () => {
    const image = await createImage(alice);
    const wrongType = await call(alice, 'PUT', `/v2/images/${image.id}/stage`, {
      raw: 'x',
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(wrongType.status).toBe(415);
    const early = await importImage(alice, image.id, { method: { name: 'glance-direct' } });
    expect(early.status).toBe(409);
    expect(early.text).toContain("Image needs to be staged before 'glance-direct' method can be used");
    const unknown = await importImage(alice, image.id, { method: { name: 'glance-download' } });
    expect(unknown.status).toBe(400);
    expect(unknown.text).toContain("Unknown import method name 'glance-download'.");

    const notOwner = await stage(bob, image.id, RAW);
    expect(notOwner.status).toBe(404);

    const tooLarge = await stage(alice, image.id, randomBytes(CAP + 1));
    expect(tooLarge.status).toBe(413);
    expect(await show(alice, image.id)).toMatchObject({ status: 'queued', size: null });
    expect(readdirSync(trusting.stagingDir)).not.toContain(image.id);

    expect((await stage(alice, image.id, RAW)).status).toBe(204);
    const again = await stage(alice, image.id, RAW);
    expect(again.status).toBe(409);
    expect(again.text).toContain('Image status transition from uploading to uploading is not allowed');
    expect(await imageTasks(alice, image.id)).toEqual([]);
  });

  it('refuses copy-image clearly without enabled_backends', async () => {
    const image = await createImage(alice);
    expect((await stage(alice, image.id, RAW)).status).toBe(204);
    expect((await importImage(alice, image.id, { method: { name: 'glance-direct' } })).status).toBe(202);
    await finishedTask(alice, image.id);
    const copy = await importImage(admin, image.id, { method: { name: 'copy-image' } });
    expect(copy.status).toBe(400);
    expect(copy.text).toContain("Import method 'copy-image' is not available at this site");
    expect(await imageTasks(alice, image.id)).toHaveLength(1);
  });
});

describe('web-download', () => {
  it('downloads an explicitly allowed host through redirects into the store', async () => {
    const image = await createImage(alice, { disk_format: 'qcow2' });
    const accepted = await importImage(alice, image.id, {
      method: { name: 'web-download', uri: source.url('/moved') },
    });
    expect(accepted.status).toBe(202);
    const task = await finishedTask(alice, image.id);
    expect(task.status).toBe('success');
    expect(await show(alice, image.id)).toMatchObject({
      status: 'active',
      size: QCOW2.length,
      virtual_size: 16 * 1024 * 1024,
      checksum: createHash('md5').update(QCOW2).digest('hex'),
    });
    expect(await download(alice, image.id)).toEqual(QCOW2);
    expect(readdirSync(trusting.stagingDir)).not.toContain(image.id);
  });

  it.each([
    ['/to-metadata', 'Redirect to disallowed URL: http://169.254.169.254/latest/meta-data/'],
    ['/to-private', 'Redirect to disallowed URL: http://10.20.30.40/x'],
    ['/truncated', 'Could not download'],
    ['/nothing-here', 'HTTP Error 404'],
  ])('fails the task for %s and leaves the image queued, as upstream does', async (route, reason) => {
    const image = await createImage(alice);
    expect(
      (await importImage(alice, image.id, { method: { name: 'web-download', uri: source.url(route) } }))
        .status,
    ).toBe(202);
    const task = await finishedTask(alice, image.id);
    expect(task.status).toBe('failure');
    expect(task.message).toContain(reason);
    const after = await show(alice, image.id);
    expect(after).toMatchObject({
      status: 'queued',
      size: null,
      checksum: null,
      os_glance_importing_to_stores: '',
      os_glance_failed_import: '',
    });
    expect(after).not.toHaveProperty('os_glance_import_task');
    expect(readdirSync(trusting.stagingDir)).not.toContain(image.id);
    // The image can be imported again.
    expect(
      (
        await importImage(alice, image.id, {
          method: { name: 'web-download', uri: source.url('/image.qcow2') },
        })
      ).status,
    ).toBe(202);
  });

  it.each([
    'http://127.0.0.1/image.qcow2',
    'http://127.0.0.1:80/image.qcow2',
    'http://localhost/image.qcow2',
    'http://[::1]/image.qcow2',
    'http://169.254.169.254/latest/meta-data/',
    'http://10.0.0.1/image.qcow2',
    'http://192.168.1.1/image.qcow2',
    'http://2130706433/image.qcow2',
  ])('by default refuses %s before anything is fetched, leaving the image untouched', async (uri) => {
    const created = await callStrict(alice, 'POST', '/v2/images', {
      body: { disk_format: 'raw', container_format: 'bare' },
    });
    const image = created.json as Image;
    const before = source.requests.length;
    const refused = await importImage(alice, image.id, { method: { name: 'web-download', uri } }, callStrict);
    expect(refused.status).toBe(400);
    expect((refused.json as { message: string }).message).toContain(
      `URI for web-download does not pass filtering: ${uri}`,
    );
    const after = (await callStrict(alice, 'GET', `/v2/images/${image.id}`)).json as Image;
    expect(after.status).toBe('queued');
    expect(Object.keys(after).filter((k) => k.startsWith('os_glance'))).toEqual([]);
    expect(await imageTasks(alice, image.id)).toEqual([]);
    expect(source.requests.length).toBe(before);
  });
});

describe('the import lock', () => {
  /** A lock on a queued image held by a task that never ran, as a crash right after the 202 leaves it. */
  async function lockedByDeadTask(hoursAgo: number): Promise<{ image: Image; deadTask: string }> {
    const image = await createImage(alice);
    const deadTask = `dead${randomBytes(16).toString('hex').slice(0, 28)}`;
    const at = new Date(Date.now() - hoursAgo * 3_600_000);
    await sql.query(
      `INSERT INTO tasks (id, type, status, owner, created_at, updated_at, deleted, image_id)
       VALUES (?, 'api_image_import', 'pending', ?, ?, ?, 0, ?)`,
      [deadTask, alice.projectId, at, at, image.id],
    );
    await sql.query('INSERT INTO task_info (task_id, input) VALUES (?, ?)', [
      deadTask,
      JSON.stringify({ image_id: image.id, backend: [null] }),
    ]);
    await sql.query(
      `INSERT INTO image_properties (image_id, name, value, created_at, deleted) VALUES (?, ?, ?, ?, 0)`,
      [image.id, 'os_glance_import_task', deadTask, at],
    );
    return { image, deadTask };
  }

  it('keeps another task from importing while the lock is fresh', async () => {
    const { image } = await lockedByDeadTask(1);
    const refused = await importImage(alice, image.id, {
      method: { name: 'web-download', uri: source.url('/image.qcow2') },
    });
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('Image has active task');
  });

  it('takes over a stale lock: the dead task fails and the image imports', async () => {
    const { image, deadTask } = await lockedByDeadTask(3);
    const accepted = await importImage(alice, image.id, {
      method: { name: 'web-download', uri: source.url('/image.qcow2') },
    });
    expect(accepted.status).toBe(202);
    await eventually('the image to become active', async () =>
      (await show(alice, image.id)).status === 'active' ? true : undefined,
    );
    const dead = await call(admin, 'GET', `/v2/tasks/${deadTask}`);
    expect(dead.json).toMatchObject({ status: 'failure', message: 'Expired lock preempted' });
  });
});

describe('an image left behind by a crash', () => {
  it('is not imported from data whose staging never finished', async () => {
    const image = await createImage(alice);
    // What a server that died mid-stage leaves: uploading, no size recorded yet.
    await sql.query("UPDATE images SET status = 'uploading' WHERE id = ?", [image.id]);
    const refused = await importImage(alice, image.id, { method: { name: 'glance-direct' } });
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('Image data is still being staged, or its staging was interrupted');
    expect((await call(alice, 'DELETE', `/v2/images/${image.id}`)).status).toBe(204);
  });
});

describe('the tasks API', () => {
  it('is for admins, lists and shows tasks, and refuses DELETE', async () => {
    const image = await createImage(alice);
    expect((await stage(alice, image.id, RAW)).status).toBe(204);
    expect((await importImage(alice, image.id, { method: { name: 'glance-direct' } })).status).toBe(202);
    const task = await finishedTask(alice, image.id);

    expect((await call(alice, 'GET', '/v2/tasks')).status).toBe(403);
    const shown = await call(admin, 'GET', `/v2/tasks/${task.id}`);
    expect(shown.json).toMatchObject({
      id: task.id,
      status: 'success',
      self: `/v2/tasks/${task.id}`,
      schema: '/v2/schemas/task',
      image_id: image.id,
    });
    const page = await call(admin, 'GET', `/v2/tasks?limit=1&marker=${task.id}&sort_dir=asc`);
    expect(page.status).toBe(200);
    expect((page.json as { first: string }).first).toBe('/v2/tasks?limit=1&sort_dir=asc');
    const removed = await call(admin, 'DELETE', `/v2/tasks/${task.id}`);
    expect(removed.status).toBe(405);
    expect(removed.headers.get('allow')).toBe('GET');
    expect((await call(admin, 'GET', '/v2/tasks/00000000-0000-0000-0000-000000000000')).status).toBe(404);
    // Another project neither sees the image nor its tasks.
    expect((await call(bob, 'GET', `/v2/images/${image.id}/tasks`)).status).toBe(404);
    expect((await call(alice, 'POST', `/v2/images/${image.id}/tasks`)).status).toBe(404);
  });

  it('runs a legacy import task that creates the image', async () => {
    const created = await call(admin, 'POST', '/v2/tasks', {
      body: {
        type: 'import',
        input: {
          import_from: source.url('/image.qcow2'),
          import_from_format: 'qcow2',
          image_properties: { name: 'legacy', disk_format: 'qcow2', container_format: 'bare', color: 'blue' },
        },
      },
    });
    expect(created.status).toBe(201);
    const task = created.json as Task;
    expect(created.headers.get('location')).toBe(`${trusting.base}/v2/tasks/${task.id}`);
    expect(task).toMatchObject({ type: 'import', status: 'pending', message: '', result: null });
    const done = await eventually('the legacy task', async () => {
      const res = (await call(admin, 'GET', `/v2/tasks/${task.id}`)).json as Task;
      return res.status === 'pending' || res.status === 'processing' ? undefined : res;
    });
    expect(done.status).toBe('success');
    const imageId = (done.result as { image_id: string }).image_id;
    expect(await show(admin, imageId)).toMatchObject({
      name: 'legacy',
      color: 'blue',
      status: 'active',
      owner: admin.projectId,
      size: QCOW2.length,
    });

    const refused = await call(admin, 'POST', '/v2/tasks', {
      body: { type: 'import', input: { import_from: 'http://169.254.169.254/' } },
    });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('URI for legacy import task does not pass filtering');
  });
});
