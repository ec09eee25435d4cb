import { randomBytes } from 'node:crypto';
import { loadStackEnv } from '../../../harness/stack-env.js';
import { client } from '../client.js';
import { KeystoneFixture, type Persona } from '../keystone.js';
import { ApiServer, requireBuild, ScratchDatabase } from '../server.js';

// Side by side with upstream glance-api: our built server runs on the stack's shared `glance` database, which
// upstream serves too, so both answer about the same rows. The same requests go to both and the answers (status,
// content type, body) must be identical, timestamps aside.

const env = loadStackEnv();

/** The stack's shared database: used as it is, never created or dropped here. */
class SharedGlanceDatabase extends ScratchDatabase {
  override get url(): string {
    return env.GLANCE_DB_URL ?? '';
  }
}

const keystone = new KeystoneFixture();
const ours = new ApiServer({ db: new SharedGlanceDatabase(), workers: 1 });
const suffix = randomBytes(4).toString('hex');
let admin: Persona;
let member: Persona;

beforeAll(async () => {
  requireBuild();
  await ours.writeConfig();
  await ours.start();
  admin = await keystone.adminPersona();
  member = await keystone.memberPersona('mdparity');
});

afterAll(async () => {
  const call = client(env.UPSTREAM_GLANCE_URL ?? '');
  for (const side of ['up', 'ours']) {
    const name = `md-parity-${suffix}-${side}`;
    await call(admin, 'PUT', `/v2/metadefs/namespaces/${name}`, { body: { namespace: name } });
    await call(admin, 'DELETE', `/v2/metadefs/namespaces/${name}`);
  }
  await ours.stop();
  await keystone.cleanup();
  ours.cleanup();
});

interface Step {
  who?: 'admin' | 'member';
  method: string;
  /** `{ns}` stands for the namespace the sequence works on, `{project}` for the member's project. */
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** Every answer of `steps` against `base`, as text with the namespace name and timestamps neutralised. */
async function play(base: string, namespace: string, steps: Step[]): Promise<string[]> {
  const call = client(base);
  const fill = (text: string): string =>
    text.replaceAll('{ns}', namespace).replaceAll('{project}', member.projectId);
  const answers: string[] = [];
  for (const step of steps) {
    const body = step.body === undefined ? undefined : JSON.parse(fill(JSON.stringify(step.body)));
    const res = await call(step.who === 'member' ? member : admin, step.method, fill(step.path), {
      ...(body !== undefined && { body }),
      ...(step.headers && { headers: step.headers }),
    });
    const location = res.headers.get('location')?.replace(base, 'BASE') ?? '';
    const text = `${step.method} ${step.path} -> ${res.status} ${res.headers.get('content-type')} ${location}\n${res.text}`;
    answers.push(text.replaceAll(namespace, '{ns}').replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/g, 'TIME'));
  }
  return answers;
}

async function sideBySide(label: string, steps: Step[]): Promise<void> {
  const upstream = await play(env.UPSTREAM_GLANCE_URL ?? '', `md-parity-${suffix}-up`, steps);
  const mine = await play(ours.base, `md-parity-${suffix}-ours`, steps);
  expect({ label, answers: mine }).toEqual({ label, answers: upstream });
}

test('every loaded definition reads the same through both servers', async () => {
  const list = await client(ours.base)(admin, 'GET', '/v2/metadefs/namespaces?limit=1000');
  // Only what the loader wrote (owner 'admin'): other tests create and delete namespaces meanwhile.
  const names = (list.json as { namespaces: { namespace: string; owner: string }[] }).namespaces
    .filter((n) => n.owner === 'admin')
    .map((n) => n.namespace);
  expect(names.length).toBeGreaterThan(20);
  const steps: Step[] = [{ method: 'GET', path: '/v2/metadefs/resource_types' }];
  for (const name of names) {
    for (const part of ['', '/objects', '/properties', '/resource_types', '/tags']) {
      steps.push({ method: 'GET', path: `/v2/metadefs/namespaces/${name}${part}` });
    }
  }
  steps.push({
    method: 'GET',
    path: '/v2/metadefs/namespaces/OS::Compute::Libvirt?resource_type=OS::Glance::Image',
  });
  steps.push({
    method: 'GET',
    path: '/v2/metadefs/namespaces?limit=3&sort_key=namespace&sort_dir=asc&marker=OS::Compute::Libvirt',
  });
  await sideBySide('loaded definitions', steps);
});

test('a namespace life cycle answers the same, errors included', async () => {
  const ns = '/v2/metadefs/namespaces/{ns}';
  await sideBySide('life cycle', [
    {
      method: 'POST',
      path: '/v2/metadefs/namespaces',
      body: {
        namespace: '{ns}',
        display_name: 'Parity',
        visibility: 'public',
        protected: true,
        resource_type_associations: [{ name: 'OS::Glance::Image', prefix: 'p_' }],
        properties: {
          a: { title: 'A', type: 'integer', minimum: 1.9, default: 5, enum: ['1', '2'] },
          b: {
            title: 'B',
            type: 'array',
            items: { type: 'string', enum: ['x'] },
            readonly: true,
            name: 'bee',
          },
        },
        objects: [
          {
            name: 'o1',
            required: ['x'],
            properties: { x: { title: 'X', type: 'string', confidential: true } },
          },
        ],
        tags: [{ name: 't1' }, { name: 't2' }],
      },
    },
    { method: 'GET', path: ns },
    { method: 'GET', path: `${ns}?resource_type=OS::Glance::Image` },
    { method: 'POST', path: '/v2/metadefs/namespaces', body: { namespace: '{ns}' } },
    { method: 'POST', path: '/v2/metadefs/namespaces', body: { namespace: 'x', bogus: 1 } },
    { method: 'DELETE', path: ns },
    { method: 'DELETE', path: `${ns}/objects/o1` },
    { method: 'DELETE', path: `${ns}/tags` },
    { method: 'DELETE', path: `${ns}/resource_types/OS::Glance::Image` },
    { method: 'PUT', path: ns, body: { namespace: '{ns}', visibility: 'public', protected: false } },
    {
      method: 'POST',
      path: `${ns}/objects`,
      body: { name: 'o2', properties: { y: { title: 'Y', type: 'number', default: 2.5 } } },
    },
    { method: 'POST', path: `${ns}/objects`, body: { name: 'O2' } },
    { method: 'PUT', path: `${ns}/objects/o2`, body: { name: 'o1' } },
    { method: 'PUT', path: `${ns}/objects/o2`, body: { name: 'o3', description: 'd' } },
    { method: 'GET', path: `${ns}/objects` },
    {
      method: 'POST',
      path: `${ns}/properties`,
      body: { name: 'c', title: 'C', type: 'string', maxLength: 5 },
    },
    { method: 'POST', path: `${ns}/properties`, body: { name: 'C', title: 'C', type: 'string' } },
    {
      method: 'PUT',
      path: `${ns}/properties/c`,
      body: { name: 'c2', title: 'C2', type: 'string', default: 'x' },
    },
    { method: 'GET', path: `${ns}/properties` },
    { method: 'POST', path: `${ns}/tags/t3` },
    {
      method: 'POST',
      path: `${ns}/tags`,
      body: { tags: [{ name: 'u1' }] },
      headers: { 'X-Openstack-Append': 'yes' },
    },
    { method: 'POST', path: `${ns}/tags`, body: { tags: [{ name: 'v' }, { name: 'V' }] } },
    { method: 'GET', path: `${ns}/tags?sort_key=name&sort_dir=asc&limit=2&marker=t1` },
    { method: 'PUT', path: `${ns}/tags/t3`, body: { name: 'u1' } },
    { method: 'POST', path: `${ns}/resource_types`, body: { name: 'OS::Nova::Flavor', prefix: 'f:' } },
    { method: 'GET', path: `${ns}/resource_types` },
    { method: 'DELETE', path: `${ns}/resource_types/OS::Nova::Flavor` },
    { method: 'DELETE', path: `${ns}/tags/t3` },
    { method: 'DELETE', path: `${ns}/properties/c2` },
    { method: 'DELETE', path: `${ns}/objects/o3` },
    { method: 'DELETE', path: ns },
    { method: 'GET', path: ns },
  ]);
});

test('what a member may see and do answers the same', async () => {
  const ns = '/v2/metadefs/namespaces/{ns}';
  await sideBySide('member', [
    { method: 'POST', path: '/v2/metadefs/namespaces', body: { namespace: '{ns}', visibility: 'private' } },
    { who: 'member', method: 'GET', path: ns },
    { who: 'member', method: 'GET', path: `${ns}/objects` },
    { who: 'member', method: 'POST', path: `${ns}/tags/x` },
    { who: 'member', method: 'GET', path: '/v2/metadefs/namespaces?marker={ns}' },
    { method: 'PUT', path: ns, body: { namespace: '{ns}', owner: '{project}' } },
    { who: 'member', method: 'GET', path: ns },
    { who: 'member', method: 'GET', path: '/v2/metadefs/namespaces?visibility=private' },
    { who: 'member', method: 'PUT', path: ns, body: { namespace: '{ns}' } },
    { who: 'member', method: 'DELETE', path: `${ns}/tags` },
    {
      who: 'member',
      method: 'POST',
      path: '/v2/metadefs/namespaces/OS::Compute::Libvirt/objects',
      body: { name: 'o' },
    },
    { method: 'DELETE', path: ns },
  ]);
});
