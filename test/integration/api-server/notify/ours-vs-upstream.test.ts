import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type amqp from 'amqplib';
import { compareEventSequences, type ObservedEvent } from '../../../../api-server/src/notify/index.js';
import { adminTokenFromStack } from '../../../harness/keystone.js';
import { stackValue } from '../../../harness/stack-env.js';
import { consumeNotifications } from './consumer.js';
import { ApiServer, ScratchDatabase, startOnScratchDatabase } from '../server.js';
import { Relay, transportUrlVia } from './relay.js';

// The api-server publishing as the install guide configures Glance, next to upstream Glance on the same broker:
// one workflow against each, the notifications collected as a Ceilometer-bound consumer receives them, and the
// two sequences held to the same event types, payload keys and value types.

type Json = Record<string, unknown>;

const relay = new Relay();
const db = new ScratchDatabase();
const staging = mkdtempSync(path.join(tmpdir(), 'notify-staging-'));
let ours: ApiServer;
let connection: amqp.ChannelModel;
const received: ObservedEvent[] = [];

beforeAll(async () => {
  await relay.start();
  ours = new ApiServer({
    db,
    workers: 1,
    defaults: { transport_url: transportUrlVia(relay.port), node_staging_uri: `file://${staging}` },
    sections: {
      oslo_messaging_notifications: { driver: 'messagingv2', topics: 'notifications' },
      oslo_messaging_rabbit: { rabbit_retry_interval: 1, rabbit_interval_max: 1 },
    },
  });
  await startOnScratchDatabase(db, ours);
  connection = await consumeNotifications(received);
}, 120_000);

afterAll(async () => {
  await connection?.close();
  await ours?.stop();
  ours?.cleanup();
  await relay.stop();
  await db.drop();
  rmSync(staging, { recursive: true, force: true });
});

async function call(base: string, method: string, path: string, body?: string | Buffer, type?: string) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      'X-Auth-Token': await adminTokenFromStack(),
      ...(type ? { 'Content-Type': type } : {}),
    },
    ...(body ? { body } : {}),
  });
  const text = await res.text();
  if (res.status >= 400) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as Json | undefined;
}

const JSON_TYPE = 'application/json';
const PATCH_TYPE = 'application/openstack-images-v2.1-json-patch';

/** The install guide's `openstack image create … --file … --public`, then what users do next with the image. */
async function workflow(base: string, name: string): Promise<string> {
  const created = (await call(
    base,
    'POST',
    '/v2/images',
    JSON.stringify({
      name,
      disk_format: 'raw',
      container_format: 'bare',
      visibility: 'public',
      flavour: 'x',
      tags: ['a'],
    }),
    JSON_TYPE,
  ))!;
  const id = String(created.id);
  await call(base, 'PUT', `/v2/images/${id}/file`, Buffer.alloc(64, 3), 'application/octet-stream');
  const download = await fetch(`${base}/v2/images/${id}/file`, {
    headers: { 'X-Auth-Token': await adminTokenFromStack() },
  });
  await download.arrayBuffer();
  await call(
    base,
    'PATCH',
    `/v2/images/${id}`,
    JSON.stringify([{ op: 'replace', path: '/min_ram', value: 7 }]),
    PATCH_TYPE,
  );
  await call(base, 'PUT', `/v2/images/${id}/tags/b`);
  await call(base, 'DELETE', `/v2/images/${id}/tags/a`);
  await call(base, 'POST', `/v2/images/${id}/actions/deactivate`);
  await call(base, 'POST', `/v2/images/${id}/actions/reactivate`);
  await call(
    base,
    'PATCH',
    `/v2/images/${id}`,
    JSON.stringify([{ op: 'replace', path: '/visibility', value: 'shared' }]),
    PATCH_TYPE,
  );
  await call(base, 'POST', `/v2/images/${id}/members`, JSON.stringify({ member: 'f'.repeat(32) }), JSON_TYPE);
  await call(base, 'DELETE', `/v2/images/${id}/members/${'f'.repeat(32)}`);
  await call(base, 'DELETE', `/v2/images/${id}`);
  return id;
}

const eventsNow = (id: string): ObservedEvent[] =>
  received.filter((e) => {
    const p = e.payload as Json | null;
    return p?.id === id || p?.image_id === id;
  });

/** The image's events once its image.delete has arrived (or 20 s passed). */
async function eventsOf(id: string): Promise<ObservedEvent[]> {
  const deadline = Date.now() + 20_000;
  while (!eventsNow(id).some((e) => e.event_type === 'image.delete') && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  return eventsNow(id);
}

test('an image life gives the same notifications from ours as from upstream Glance', async () => {
  const theirId = await workflow(stackValue('UPSTREAM_GLANCE_URL'), 'notify-compare');
  const ourId = await workflow(ours.base, 'notify-compare');
  const theirs = await eventsOf(theirId);
  const mine = await eventsOf(ourId);
  expect(theirs.map((e) => e.event_type)).toContain('image.delete');
  // checksum, size and virtual_size change type across the upload; both sides sample them at their own moments.
  expect(compareEventSequences(theirs, mine, { looseKeys: ['checksum', 'size', 'virtual_size'] })).toEqual(
    [],
  );
});

/** Stage data, import it with glance-direct and wait for the image to be active: the image and its task. */
async function importWorkflow(base: string, name: string): Promise<{ imageId: string; taskId: string }> {
  const created = (await call(
    base,
    'POST',
    '/v2/images',
    JSON.stringify({ name, disk_format: 'raw', container_format: 'bare' }),
    JSON_TYPE,
  ))!;
  const imageId = String(created.id);
  await call(base, 'PUT', `/v2/images/${imageId}/stage`, Buffer.alloc(32, 5), 'application/octet-stream');
  await call(
    base,
    'POST',
    `/v2/images/${imageId}/import`,
    JSON.stringify({ method: { name: 'glance-direct' } }),
    JSON_TYPE,
  );
  let status = String(created.status);
  for (let i = 0; i < 100 && status !== 'active'; i++) {
    await new Promise((r) => setTimeout(r, 200));
    status = String((await call(base, 'GET', `/v2/images/${imageId}`))!.status);
  }
  expect(status).toBe('active');
  const tasks = (await call(base, 'GET', `/v2/images/${imageId}/tasks`))!.tasks as Json[];
  return { imageId, taskId: String(tasks[0]?.id) };
}

/** The events `match` picks, once one of them of type `last` has arrived (or 20 s passed). */
async function eventsUntil(match: (e: ObservedEvent) => boolean, last: string): Promise<ObservedEvent[]> {
  const deadline = Date.now() + 20_000;
  while (!received.some((e) => match(e) && e.event_type === last) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  // Late events (a duplicate, one sent after the last) would show in the comparison too.
  await new Promise((r) => setTimeout(r, 300));
  return received.filter(match);
}

test('a glance-direct import gives the same task and image notifications from ours as from upstream', async () => {
  const run = async (base: string): Promise<ObservedEvent[]> => {
    const { imageId, taskId } = await importWorkflow(base, 'notify-import');
    const events = await eventsUntil((e) => {
      const p = e.payload as Json | null;
      return p?.id === imageId || p?.id === taskId;
    }, 'task.run');
    await call(base, 'DELETE', `/v2/images/${imageId}`);
    return events;
  };
  const theirs = await run(stackValue('UPSTREAM_GLANCE_URL'));
  const mine = await run(ours.base);
  expect(theirs.map((e) => e.event_type)).toContain('task.success');
  expect(compareEventSequences(theirs, mine, { looseKeys: ['checksum', 'size', 'virtual_size'] })).toEqual(
    [],
  );
  // The task's own values: pending when created and in task.run, its final status in task.success.
  const statuses = (events: ObservedEvent[]) =>
    events.filter((e) => e.event_type.startsWith('task.')).map((e) => (e.payload as Json).status);
  expect(statuses(mine)).toEqual(statuses(theirs));
});

/** A namespace with contents, then every kind of change and removal the metadef API offers. */
async function metadefWorkflow(base: string, ns: string): Promise<void> {
  const at = `/v2/metadefs/namespaces/${ns}`;
  const send = (method: string, url: string, body?: unknown) =>
    call(base, method, url, body === undefined ? undefined : JSON.stringify(body), JSON_TYPE);
  await send('POST', '/v2/metadefs/namespaces', {
    namespace: ns,
    display_name: 'Compare',
    resource_type_associations: [{ name: 'OS::Glance::Image', prefix: 'hw_' }],
    properties: { cores: { type: 'integer', title: 'Cores', minimum: 1 } },
    objects: [
      {
        name: 'cpu',
        required: ['mode'],
        properties: { mode: { type: 'string', title: 'Mode', enum: ['a'] } },
      },
    ],
    tags: [{ name: 'one' }],
  });
  await send('PUT', at, { namespace: ns, display_name: 'Compared', description: 'd' });
  await send('PUT', `${at}/objects/cpu`, { name: 'cpu2', properties: {} });
  await send('POST', `${at}/objects`, { name: 'extra', description: 'x' });
  await send('DELETE', `${at}/objects/extra`);
  await send('PUT', `${at}/properties/cores`, { name: 'cores', type: 'integer', title: 'Cores', maximum: 8 });
  await send('POST', `${at}/properties`, { name: 'speed', type: 'string', title: 'Speed', default: 'fast' });
  await send('DELETE', `${at}/properties/speed`);
  await send('PUT', `${at}/tags/one`, { name: 'uno' });
  await send('POST', `${at}/tags/tres`);
  await send('DELETE', `${at}/tags/tres`);
  await call(
    base,
    'POST',
    `${at}/tags`,
    JSON.stringify({ tags: [{ name: 'dos' }, { name: 'cuatro' }] }),
    JSON_TYPE,
  );
  await send('POST', `${at}/resource_types`, { name: 'OS::Cinder::Volume', prefix: 'v_' });
  await send('DELETE', `${at}/resource_types/OS::Cinder::Volume`);
  await send('DELETE', `${at}/objects`);
  await send('DELETE', `${at}/properties`);
  await send('DELETE', `${at}/tags`);
  await send('DELETE', at);
}

/** Drops what differs between two runs by nature: timestamps. */
function withoutTimes(payload: unknown): unknown {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return payload;
  const out: Json = {};
  for (const [k, v] of Object.entries(payload as Json))
    if (!['created_at', 'updated_at', 'deleted_at', 'expires_at'].includes(k)) out[k] = v;
  return out;
}

test('metadefs give the same notifications from ours as from upstream, values and all', async () => {
  // Each server has its own database, so both can use the same namespace name and their payloads can match.
  const ns = `OS::NotifyCompare::${Date.now()}`;
  const ofNamespace = (e: ObservedEvent): boolean => (e.payload as Json | null)?.namespace === ns;
  await metadefWorkflow(stackValue('UPSTREAM_GLANCE_URL'), ns);
  const theirs = await eventsUntil(ofNamespace, 'metadef_namespace.delete');
  const before = received.length;
  await metadefWorkflow(ours.base, ns);
  const ourRun = (e: ObservedEvent): boolean => ofNamespace(e) && received.indexOf(e) >= before;
  const mine = await eventsUntil(ourRun, 'metadef_namespace.delete');
  expect(theirs.map((e) => e.event_type)).toContain('metadef_namespace.delete_tags');
  expect(compareEventSequences(theirs, mine)).toEqual([]);
  expect(mine.map((e) => [e.event_type, withoutTimes(e.payload)])).toEqual(
    theirs.map((e) => [e.event_type, withoutTimes(e.payload)]),
  );
});

test('with the broker stuck, requests go on unhindered, and what was notified arrives once it is back', async () => {
  await relay.stop();
  await relay.start({ hang: true });
  const started = Date.now();
  const id = await workflow(ours.base, 'notify-while-stuck');
  // Our connection attempt waits out its 10 s bound on a stuck broker: a request that waited on it could not
  // finish this whole workflow (13 requests) sooner.
  expect(Date.now() - started).toBeLessThan(10_000);
  await new Promise((r) => setTimeout(r, 500));
  expect(eventsNow(id)).toEqual([]);
  await relay.stop();
  await relay.start();
  const arrived = await eventsOf(id);
  expect(arrived.map((e) => e.event_type)).toEqual(
    (await eventsOf(await workflow(ours.base, 'notify-after'))).map((e) => e.event_type),
  );
}, 120_000);
