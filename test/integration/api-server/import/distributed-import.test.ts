import { appendFileSync, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { client, type Reply } from '../client.js';
import { KeystoneFixture, type Persona } from '../keystone.js';
import { requireBuild, ScratchDatabase } from '../server.js';
import { eventually, ImportServer } from './fixtures.js';

// Distributed import: two workers of our api-server share a database but not their staging directories, each
// knowing its own URL (worker_self_reference_url). An image staged on one and imported or deleted through the
// other must be handled by the one holding the data, as with upstream's proxying to os_glance_stage_host.

const keystone = new KeystoneFixture();
const db = new ScratchDatabase();
const first = new ImportServer({ db, workers: 1 }, null);
const second = new ImportServer({ db, workers: 1 }, null);
let alice: Persona;

type Image = Record<string, unknown> & { id: string; status: string };
const DATA = randomBytes(100_000);

beforeAll(async () => {
  requireBuild();
  await db.create();
  for (const server of [first, second]) {
    await server.writeConfig();
    appendFileSync(server.configFile, `[DEFAULT]\nworker_self_reference_url = ${server.base}\n`);
  }
  const sync = await first.run(['db-sync']);
  if (sync.code !== 0) throw new Error(`db-sync failed:\n${sync.output}`);
  await first.start();
  await second.start();
  await keystone.adminPersona();
  alice = await keystone.memberPersona('dist');
});

afterAll(async () => {
  await first.stop();
  await second.stop();
  await keystone.cleanup();
  await db.drop();
  first.cleanup();
  second.cleanup();
});

function expectStatus(res: Reply, status: number): void {
  if (res.status !== status) throw new Error(`expected HTTP ${status}, got ${res.status}: ${res.text}`);
}

/** An image staged on `server`. */
async function stagedOn(server: ImportServer): Promise<Image> {
  const call = client(server.base);
  const created = await call(alice, 'POST', '/v2/images', {
    body: { name: 'staged', disk_format: 'raw', container_format: 'bare' },
  });
  expectStatus(created, 201);
  const image = created.json as Image;
  expectStatus(
    await call(alice, 'PUT', `/v2/images/${image.id}/stage`, {
      raw: DATA,
      headers: { 'Content-Type': 'application/octet-stream' },
    }),
    204,
  );
  expect(existsSync(path.join(server.stagingDir, image.id))).toBe(true);
  return image;
}

describe('an image staged on one worker', () => {
  it('is imported by that worker when the import reaches another', async () => {
    const image = await stagedOn(first);
    const res = await client(second.base)(alice, 'POST', `/v2/images/${image.id}/import`, {
      body: { method: { name: 'glance-direct' } },
    });
    expectStatus(res, 202);
    // The client is answered with the request id of the worker that did the work.
    const requestId = res.headers.get('x-openstack-request-id') ?? '';
    // The first worker logs the request once its answer is sent, which may reach us after the answer does.
    await eventually('the first worker to log the request', () =>
      Promise.resolve(first.logs.includes(requestId) ? true : undefined),
    );
    expect(first.logs).toContain(requestId);
    expect(second.logs).not.toContain(`"requestId":"${requestId}"`);
    const active = await eventually('the image to become active', async () => {
      const shown = (await client(second.base)(alice, 'GET', `/v2/images/${image.id}`)).json as Image;
      return shown.status === 'active' ? shown : undefined;
    });
    expect(active.size).toBe(DATA.length);
    expect(active).not.toHaveProperty('os_glance_stage_host');
    expect(readdirSync(first.stagingDir)).not.toContain(image.id);
  });

  it('is deleted with its staged data by that worker when the delete reaches another', async () => {
    const image = await stagedOn(first);
    expectStatus(await client(second.base)(alice, 'DELETE', `/v2/images/${image.id}`), 204);
    expectStatus(await client(first.base)(alice, 'GET', `/v2/images/${image.id}`), 404);
    expect(readdirSync(first.stagingDir)).not.toContain(image.id);
  });

  it('cannot be imported while that worker is down, but can still be deleted', async () => {
    const image = await stagedOn(first);
    await first.stop();
    const call = client(second.base);
    const refused = await call(alice, 'POST', `/v2/images/${image.id}/import`, {
      body: { method: { name: 'glance-direct' } },
    });
    expect(refused.status).toBe(504);
    expect(refused.text).toContain('Stage host is unavailable');
    expect(((await call(alice, 'GET', `/v2/images/${image.id}`)).json as Image).status).toBe('uploading');
    expectStatus(await call(alice, 'DELETE', `/v2/images/${image.id}`), 204);
    expectStatus(await call(alice, 'GET', `/v2/images/${image.id}`), 404);
  });
});
