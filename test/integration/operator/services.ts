import type mysql from 'mysql2/promise';
import { markKeys } from '../../../operator/src/glance-service/ceph.js';
import { run } from '../../harness/run.js';
import { keystone } from './support.js';

/** What one GlanceService of a test creates in the shared services, named apart from everything else. */
export interface Names {
  db: string;
  dbUser: string;
  region: string;
  service: string;
  user: string;
  pool: string;
  cephUser: string;
}

/** Names unique to one run (`sfx`) and one object in it (`tag`), under a test file's `prefix`. */
export const namesFor = (prefix: string, tag: string, sfx: string): Names => ({
  db: `glance_${prefix}_${tag}_${sfx}`,
  dbUser: `glance_${tag}_${sfx}`,
  region: `Region${prefix[0]?.toUpperCase() ?? ''}${prefix.slice(1)}-${tag}-${sfx}`,
  service: `glance-${tag}-${sfx}`,
  user: `glance-${tag}-${sfx}`,
  pool: `images-${tag}-${sfx}`,
  cephUser: `glance-${tag}-${sfx}`,
});

export interface Endpoint {
  id: string;
  interface: string;
  url: string;
  region_id: string;
}

export async function keystoneService(name: string): Promise<{ id: string; type: string } | undefined> {
  const { body } = await keystone<{ services: Array<{ id: string; name: string; type: string }> }>(
    'GET',
    '/services?type=image',
  );
  return body.services.find((s) => s.name === name);
}

export async function endpointsOf(serviceId: string): Promise<Endpoint[]> {
  const { body } = await keystone<{ endpoints: Endpoint[] }>('GET', `/endpoints?service_id=${serviceId}`);
  return body.endpoints;
}

export async function keystoneUser(name: string): Promise<{ id: string } | undefined> {
  const { body } = await keystone<{ users: Array<{ id: string }> }>(
    'GET',
    `/users?name=${encodeURIComponent(name)}&domain_id=default`,
  );
  return body.users[0];
}

export async function keystoneRegion(id: string): Promise<{ id: string; description: string } | undefined> {
  const { status, body } = await keystone<{ region: { id: string; description: string } }>(
    'GET',
    `/regions/${encodeURIComponent(id)}`,
  );
  return status === 200 ? body.region : undefined;
}

export async function cephAuth(
  user: string,
): Promise<{ key: string; caps: Record<string, string> } | undefined> {
  try {
    const { stdout } = await run('ceph', ['auth', 'get', `client.${user}`, '--format', 'json']);
    return (JSON.parse(stdout) as Array<{ key: string; caps: Record<string, string> }>)[0];
  } catch {
    return undefined;
  }
}

export async function poolApplications(pool: string): Promise<Record<string, unknown> | undefined> {
  try {
    const { stdout } = await run('ceph', ['osd', 'pool', 'application', 'get', pool, '--format', 'json']);
    return JSON.parse(stdout) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Removes whatever a run may have left in the shared services, whatever the tests did. */
export async function cleanUpServices(db: mysql.Connection, n: Names): Promise<void> {
  const service = await keystoneService(n.service).catch(() => undefined);
  if (service) {
    for (const e of await endpointsOf(service.id)) await keystone('DELETE', `/endpoints/${e.id}`);
    await keystone('DELETE', `/services/${service.id}`);
  }
  const user = await keystoneUser(n.user).catch(() => undefined);
  if (user) await keystone('DELETE', `/users/${user.id}`);
  await keystone('DELETE', `/regions/${n.region}`).catch(() => undefined);
  await db.query(`DROP DATABASE IF EXISTS ${db.escapeId(n.db)}`);
  for (const host of ['localhost', '%']) await db.query('DROP USER IF EXISTS ?@?', [n.dbUser, host]);
  await run('ceph', ['auth', 'del', `client.${n.cephUser}`]).catch(() => undefined);
  await run('ceph', ['osd', 'pool', 'rm', n.pool, n.pool, '--yes-i-really-really-mean-it']).catch(
    () => undefined,
  );
  for (const key of Object.values(markKeys({ pool: n.pool, user: n.cephUser }))) {
    await run('ceph', ['config-key', 'rm', key]).catch(() => undefined);
  }
}

/** A value of Ceph's config-key store, where the operator keeps its marks; undefined when not set. */
export async function cephConfigKey(key: string): Promise<string | undefined> {
  try {
    return (await run('ceph', ['config-key', 'get', key])).stdout;
  } catch {
    return undefined;
  }
}
