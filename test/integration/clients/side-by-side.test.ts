import { createHash, randomBytes } from 'node:crypto';
import { adminTokenFromStack } from '../../harness/keystone.js';
import { stackValue } from '../../harness/stack-env.js';

// Our API and upstream glance-api share the database and the image directory: an image written
// through either is read byte-identical through the other. This is what lets a cloud switch over.
interface ImageJson {
  id: string;
  status: string;
  size: number;
  checksum: string;
  os_hash_algo: string;
  os_hash_value: string;
  name: string;
}

async function api(base: string, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('X-Auth-Token', await adminTokenFromStack());
  return fetch(`${base}${path}`, { ...init, headers });
}

async function createAndUpload(base: string, data: Buffer, name: string): Promise<string> {
  const created = await api(base, '/v2/images', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name, disk_format: 'raw', container_format: 'bare', visibility: 'private' }),
  });
  expect(created.status).toBe(201);
  const { id } = (await created.json()) as ImageJson;
  const put = await api(base, `/v2/images/${id}/file`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: data,
  });
  expect(put.status).toBe(204);
  return id;
}

async function readBack(
  base: string,
  id: string,
): Promise<{ image: ImageJson; data: Buffer; md5Header: string | null }> {
  const shown = await api(base, `/v2/images/${id}`);
  expect(shown.status).toBe(200);
  const file = await api(base, `/v2/images/${id}/file`);
  expect(file.status).toBe(200);
  return {
    image: (await shown.json()) as ImageJson,
    data: Buffer.from(await file.arrayBuffer()),
    md5Header: file.headers.get('content-md5'),
  };
}

describe.each([
  ['ours', 'upstream'],
  ['upstream', 'ours'],
])('an image written through %s', (writer, reader) => {
  const url = (who: string) => stackValue(who === 'ours' ? 'API_URL' : 'UPSTREAM_GLANCE_URL');

  test(`is shown and downloaded byte-identical through ${reader}, and deleted through it`, async () => {
    // Not a multiple of any chunk size, so that partial chunks are exercised too.
    const data = randomBytes(3 * 1024 * 1024 + 4321);
    const id = await createAndUpload(url(writer), data, `side-by-side-${writer}`);
    const { image, data: back, md5Header } = await readBack(url(reader), id);
    expect(back.equals(data)).toBe(true);
    expect(image).toMatchObject({
      status: 'active',
      size: data.length,
      checksum: createHash('md5').update(data).digest('hex'),
      os_hash_algo: 'sha512',
      os_hash_value: createHash('sha512').update(data).digest('hex'),
    });
    expect(md5Header).toBe(image.checksum);

    const del = await api(url(reader), `/v2/images/${id}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect((await api(url(writer), `/v2/images/${id}`)).status).toBe(404);
  });
});
