import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../harness/run.js';
import { stackValue } from '../../harness/stack-env.js';

// The install guide's "verify operation", with the real OpenStack clients, against OUR api-server
// (registered in Keystone as region RegionTwo by `npm run stack -- up`).
interface CliImage {
  id: string;
  name: string;
  status: string;
  checksum: string | null;
  size: number | null;
  disk_format: string;
  visibility: string;
  properties?: Record<string, unknown>;
}

const ours = () => ({ OS_REGION_NAME: stackValue('API_REGION') });
const openstack = async (args: string[]) => (await run('openstack', args, { env: ours() })).stdout;
const md5File = async (path: string) =>
  createHash('md5')
    .update(await readFile(path))
    .digest('hex');

describe('install guide checks with the real CLIs against our API', () => {
  let dir: string;
  let qcow2: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'guide-'));
    qcow2 = join(dir, 'cirros.qcow2');
    await run('qemu-img', ['create', '-f', 'qcow2', qcow2, '64M']);
    // Real data in the image, so that a download proves more than a header.
    await run('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x5a 0 3M', qcow2]);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('openstack image create --file … --public, list, save, set --property, delete', async () => {
    const name = `cirros-${randomUUID().slice(0, 8)}`;
    const created = JSON.parse(
      await openstack([
        'image',
        'create',
        name,
        '--file',
        qcow2,
        '--disk-format',
        'qcow2',
        '--container-format',
        'bare',
        '--public',
        '-f',
        'json',
      ]),
    ) as CliImage;
    try {
      const shown = JSON.parse(await openstack(['image', 'show', created.id, '-f', 'json'])) as CliImage;
      expect(shown).toMatchObject({ name, status: 'active', disk_format: 'qcow2', visibility: 'public' });
      expect(shown.checksum).toBe(await md5File(qcow2));

      const list = JSON.parse(await openstack(['image', 'list', '-f', 'json'])) as {
        ID: string;
        Status: string;
      }[];
      expect(list).toContainEqual({ ID: created.id, Name: name, Status: 'active' });

      const saved = join(dir, 'saved.qcow2');
      await openstack(['image', 'save', '--file', saved, created.id]);
      expect(await md5File(saved)).toBe(await md5File(qcow2));

      await openstack([
        'image',
        'set',
        '--property',
        'os_distro=cirros',
        '--property',
        'hw_rng_model=virtio',
        name,
      ]);
      const updated = JSON.parse(await openstack(['image', 'show', created.id, '-f', 'json'])) as CliImage;
      expect(updated.properties).toMatchObject({ os_distro: 'cirros', hw_rng_model: 'virtio' });
    } finally {
      await openstack(['image', 'delete', created.id]);
    }
    await expect(openstack(['image', 'show', created.id])).rejects.toThrow(/No Image found|Could not find/);
  });

  test('glance image-create uploads with chunked encoding and image-download verifies the hash', async () => {
    const name = `glancecli-${randomUUID().slice(0, 8)}`;
    const glance = async (args: string[]) =>
      (await run('glance', ['--os-region-name', stackValue('API_REGION'), ...args])).stdout;
    const out = await glance([
      'image-create',
      '--name',
      name,
      '--file',
      qcow2,
      '--disk-format',
      'qcow2',
      '--container-format',
      'bare',
      '--visibility',
      'public',
    ]);
    const id = /\|\s*id\s*\|\s*([0-9a-f-]{36})\s*\|/.exec(out)?.[1];
    expect(id).toBeDefined();
    try {
      expect(out).toMatch(/\|\s*status\s*\|\s*active\s*\|/);
      expect(out).toMatch(/\|\s*os_hash_algo\s*\|\s*sha512\s*\|/);
      const downloaded = join(dir, 'downloaded.qcow2');
      await glance(['image-download', '--file', downloaded, id!]);
      expect(await md5File(downloaded)).toBe(await md5File(qcow2));
      expect(await glance(['image-list'])).toContain(id);
    } finally {
      await glance(['image-delete', id!]);
    }
  });
});
