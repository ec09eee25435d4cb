import { adminTokenFromStack } from '../../../harness/keystone.js';

/** Glance as a user calls it, with the stack's admin token: a JSON patch, a JSON body (POST) or bytes (PUT). */
export async function glance(
  base: string,
  method: string,
  p: string,
  patch?: unknown,
  body?: object | Buffer,
) {
  const contentType = patch
    ? 'application/openstack-images-v2.1-json-patch'
    : Buffer.isBuffer(body)
      ? 'application/octet-stream'
      : 'application/json';
  const payload = patch ? JSON.stringify(patch) : Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const res = await fetch(`${base}${p}`, {
    method,
    headers: {
      'X-Auth-Token': await adminTokenFromStack(),
      ...(patch || body ? { 'Content-Type': contentType } : {}),
    },
    ...(patch || body ? { body: payload } : {}),
  });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

export async function glanceImage(base: string, id: string): Promise<Record<string, unknown> | undefined> {
  const res = await glance(base, 'GET', `/v2/images/${id}`);
  return res.status === 200 ? (JSON.parse(res.body.toString('utf8')) as Record<string, unknown>) : undefined;
}

/** The ids GET /v2/images lists for this query (e.g. `name=x`). */
export async function listedIds(base: string, query: string): Promise<string[]> {
  const res = await glance(base, 'GET', `/v2/images?${query}`);
  if (res.status !== 200)
    throw new Error(`GET /v2/images?${query}: HTTP ${res.status} ${res.body.toString()}`);
  return (JSON.parse(res.body.toString('utf8')) as { images: Array<{ id: string }> }).images.map((i) => i.id);
}
