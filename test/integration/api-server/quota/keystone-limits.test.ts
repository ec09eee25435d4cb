import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadStackEnv } from '../../../harness/stack-env.js';
import { client } from '../client.js';
import { KeystoneFixture, type Persona } from '../keystone.js';
import { ApiServer, requireBuild, ScratchDatabase } from '../server.js';

// Quotas through Keystone unified limits: limits registered in the stack's real Keystone for a service and
// endpoint of this test's own (so no other server sees them), our api-server reading them with [oslo_limit],
// and a throwaway project creating, staging and uploading images against them.

const MIB = 1024 * 1024;
const suffix = randomBytes(4).toString('hex');
const keystone = new KeystoneFixture();
const db = new ScratchDatabase();
const staging = mkdtempSync(path.join(tmpdir(), 'glance-limits-staging-'));
let server: ApiServer;
let call: ReturnType<typeof client>;
let owner: Persona;
let systemToken = '';
let serviceId = '';
const created: { limits: string[]; registered: string[] } = { limits: [], registered: [] };

async function ks<T>(method: string, urlPath: string, body?: unknown): Promise<T> {
  const res = await fetch(`${loadStackEnv().OS_AUTH_URL}${urlPath}`, {
    method,
    headers: { 'X-Auth-Token': systemToken, 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (res.status >= 300)
    throw new Error(`Keystone ${method} ${urlPath}: HTTP ${res.status} ${await res.text()}`);
  return (res.status === 204 ? {} : await res.json()) as T;
}

async function systemAdminToken(): Promise<string> {
  const env = loadStackEnv();
  const res = await fetch(`${env.OS_AUTH_URL}/auth/tokens`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: {
            user: { name: env.OS_USERNAME, domain: { name: 'Default' }, password: env.OS_PASSWORD },
          },
        },
        scope: { system: { all: true } },
      },
    }),
  });
  if (res.status !== 201) throw new Error(`no system-scoped token for the admin: HTTP ${res.status}`);
  return res.headers.get('x-subject-token') ?? '';
}

async function registerLimit(resource: string, defaultLimit: number): Promise<void> {
  const { registered_limits } = await ks<{ registered_limits: { id: string }[] }>(
    'POST',
    '/registered_limits',
    {
      registered_limits: [
        {
          service_id: serviceId,
          region_id: loadStackEnv().OS_REGION_NAME,
          resource_name: resource,
          default_limit: defaultLimit,
        },
      ],
    },
  );
  created.registered.push(...registered_limits.map((l) => l.id));
}

async function projectLimit(resource: string, limit: number): Promise<string> {
  const { limits } = await ks<{ limits: { id: string }[] }>('POST', '/limits', {
    limits: [
      {
        service_id: serviceId,
        region_id: loadStackEnv().OS_REGION_NAME,
        project_id: owner.projectId,
        resource_name: resource,
        resource_limit: limit,
      },
    ],
  });
  const id = limits[0]?.id ?? '';
  created.limits.push(id);
  return id;
}

beforeAll(async () => {
  requireBuild();
  const env = loadStackEnv();
  systemToken = await systemAdminToken();
  await keystone.adminPersona();
  owner = await keystone.memberPersona('limits');
  ({
    service: { id: serviceId },
  } = await ks<{ service: { id: string } }>('POST', '/services', {
    service: { name: `glance-limits-${suffix}`, type: `image-limits-${suffix}`, description: 'quota test' },
  }));
  const { endpoint } = await ks<{ endpoint: { id: string } }>('POST', '/endpoints', {
    endpoint: {
      service_id: serviceId,
      interface: 'public',
      region_id: env.OS_REGION_NAME,
      url: 'http://127.0.0.1:9',
    },
  });
  await registerLimit('image_count_total', 10);
  await registerLimit('image_size_total', 1);
  await registerLimit('image_stage_total', 1);
  await registerLimit('image_count_uploading', 1);
  await projectLimit('image_count_total', 1);

  await db.create();
  server = new ApiServer({
    db,
    workers: 1,
    defaults: { use_keystone_limits: 'True', node_staging_uri: `file://${staging}` },
    sections: {
      oslo_limit: {
        endpoint_id: endpoint.id,
        auth_url: env.OS_AUTH_URL ?? '',
        auth_type: 'password',
        // Keystone shows a project-scoped token only its own project's limits: oslo.limit needs a system
        // reader. The stack's admin is one (the glance service user has no system role here).
        username: env.OS_USERNAME ?? '',
        password: env.OS_PASSWORD ?? '',
        user_domain_name: 'Default',
        system_scope: 'all',
      },
    },
  });
  await server.writeConfig();
  await server.start(['--migrate']);
  call = client(server.base);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  server?.cleanup();
  for (const id of created.limits) await ks('DELETE', `/limits/${id}`).catch(() => undefined);
  for (const id of created.registered) await ks('DELETE', `/registered_limits/${id}`).catch(() => undefined);
  // Deleting the service deletes its endpoint.
  if (serviceId) await ks('DELETE', `/services/${serviceId}`).catch(() => undefined);
  await keystone.cleanup();
  await db.drop();
  rmSync(staging, { recursive: true, force: true });
});

type Usage = Record<string, { usage: number; limit: number }>;

async function usage(): Promise<Usage> {
  const res = await call(owner, 'GET', '/v2/info/usage');
  expect(res.status).toBe(200);
  return (res.json as { usage: Usage }).usage;
}

async function create(): Promise<{ status: number; id: string; text: string }> {
  const res = await call(owner, 'POST', '/v2/images', {
    body: { disk_format: 'raw', container_format: 'bare' },
  });
  return { status: res.status, id: (res.json as { id?: string } | undefined)?.id ?? '', text: res.text };
}

async function status(id: string): Promise<string> {
  return ((await call(owner, 'GET', `/v2/images/${id}`)).json as { status: string }).status;
}

const data = (bytes: number) => ({
  raw: new Uint8Array(bytes),
  headers: { 'Content-Type': 'application/octet-stream' },
});

test('image count, staging, uploading and size limits from Keystone are enforced with upstream’s 413s', async () => {
  expect(await usage()).toEqual({
    image_size_total: { usage: 0, limit: 1 },
    image_stage_total: { usage: 0, limit: 1 },
    image_count_total: { usage: 0, limit: 1 },
    image_count_uploading: { usage: 0, limit: 1 },
  });

  // image_count_total: the project limit (1) wins over the registered one (10).
  const a = await create();
  expect(a.status).toBe(201);
  const refused = await create();
  expect(refused.status).toBe(413);
  expect(refused.text).toContain(
    `Project ${owner.projectId} is over a limit for [Resource image_count_total is over limit of 1 due to current usage 1 and delta 1]`,
  );
  expect(refused.text).toContain('a quota threshold was breached');
  // A limit raised in Keystone applies to the next request.
  const [limitId] = created.limits;
  await ks('PATCH', `/limits/${limitId}`, { limit: { resource_limit: 3 } });
  const b = await create();
  const c = await create();
  expect([b.status, c.status]).toEqual([201, 201]);

  // image_stage_total (1 MiB): the first staging fits (nothing staged yet), the next one does not.
  expect((await call(owner, 'PUT', `/v2/images/${a.id}/stage`, data(2 * MIB))).status).toBe(204);
  const stageRefused = await call(owner, 'PUT', `/v2/images/${b.id}/stage`, data(1024));
  expect(stageRefused.status).toBe(413);
  expect(stageRefused.text).toContain(
    'Resource image_stage_total is over limit of 1 due to current usage 2 and delta 0',
  );
  expect(await status(b.id)).toBe('queued');

  // image_count_uploading (1): image a is staged (uploading), so an upload to c is one too many; c is put back.
  const uploadRefused = await call(owner, 'PUT', `/v2/images/${c.id}/file`, data(1024));
  expect(uploadRefused.status).toBe(413);
  expect(uploadRefused.text).toContain(
    'Resource image_count_uploading is over limit of 1 due to current usage 2 and delta 0',
  );
  expect(await status(c.id)).toBe('queued');
  expect(await usage()).toMatchObject({
    image_stage_total: { usage: 2, limit: 1 },
    image_count_total: { usage: 3, limit: 3 },
    image_count_uploading: { usage: 1, limit: 1 },
  });

  // image_size_total (1 MiB): with a's staging gone, c's 2 MiB upload fits (nothing stored yet); b's does not.
  expect((await call(owner, 'DELETE', `/v2/images/${a.id}`)).status).toBe(204);
  expect((await call(owner, 'PUT', `/v2/images/${c.id}/file`, data(2 * MIB))).status).toBe(204);
  const sizeRefused = await call(owner, 'PUT', `/v2/images/${b.id}/file`, data(1024));
  expect(sizeRefused.status).toBe(413);
  expect(sizeRefused.text).toContain(
    'Resource image_size_total is over limit of 1 due to current usage 2 and delta 0',
  );
  expect(await status(b.id)).toBe('queued');
  // And an import is refused before anything else is looked at.
  const importRefused = await call(owner, 'POST', `/v2/images/${b.id}/import`, {
    body: { method: { name: 'glance-direct' } },
  });
  expect(importRefused.status).toBe(413);
  expect((await usage()).image_size_total).toEqual({ usage: 2, limit: 1 });
}, 120_000);

test('a project with no limits of its own gets the registered ones', async () => {
  const other = await keystone.memberPersona('limits-other');
  const res = await call(other, 'GET', '/v2/info/usage');
  expect(res.status).toBe(200);
  expect((res.json as { usage: Usage }).usage.image_count_total).toEqual({ usage: 0, limit: 10 });
});

test('an import whose staged data would overrun image_size_total fails its task and puts the image back', async () => {
  // The request-time check passes (nothing stored yet); upstream checks again, with the staged size, once the
  // task has marked the image.
  const user = await keystone.memberPersona('limits-import');
  const res = await call(user, 'POST', '/v2/images', {
    body: { disk_format: 'raw', container_format: 'bare' },
  });
  expect(res.status).toBe(201);
  const id = (res.json as { id: string }).id;
  expect((await call(user, 'PUT', `/v2/images/${id}/stage`, data(2 * MIB))).status).toBe(204);
  const accepted = await call(user, 'POST', `/v2/images/${id}/import`, {
    body: { method: { name: 'glance-direct' } },
  });
  expect(accepted.status).toBe(202);
  let task: { status: string; message: string } | undefined;
  for (let i = 0; i < 300 && task?.status !== 'failure' && task?.status !== 'success'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const tasks = await call(user, 'GET', `/v2/images/${id}/tasks`);
    task = (tasks.json as { tasks: Array<{ status: string; message: string }> }).tasks[0];
  }
  expect(task?.status).toBe('failure');
  expect(task?.message).toContain(
    'Resource image_size_total is over limit of 1 due to current usage 0 and delta 2',
  );
  const image = (await call(user, 'GET', `/v2/images/${id}`)).json as Record<string, unknown>;
  expect(image.status).toBe('queued');
  expect(image.os_glance_importing_to_stores ?? '').toBe('');
}, 60_000);
