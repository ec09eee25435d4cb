import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { issueToken } from '../../../harness/keystone.js';
import { run } from '../../../harness/run.js';
import { loadStackEnv, stackValue } from '../../../harness/stack-env.js';
import { freePort, type ScratchDatabase } from '../server.js';

// Shared by the store integration tests: the admin's token, a small v2 client, the rbd/ceph CLIs (as
// client.admin, as an operator or Nova would run them) and a second upstream glance-api on a config of our own.

export const CEPH_CONF = (): string => stackValue('CEPH_CONF');

/** The install guide's [glance_store] for Ceph. */
export const RBD_OPTIONS = (): Record<string, string | number> => ({
  rbd_store_pool: 'images',
  rbd_store_user: 'glance',
  rbd_store_ceph_conf: CEPH_CONF(),
  rbd_store_chunk_size: 8,
});

export async function adminToken(): Promise<string> {
  const env = loadStackEnv();
  const { token } = await issueToken({
    user: env.OS_USERNAME ?? '',
    password: env.OS_PASSWORD ?? '',
    project: env.OS_PROJECT_NAME ?? '',
  });
  return token;
}

export interface Reply {
  status: number;
  text: string;
  json: () => Record<string, unknown>;
  headers: Headers;
}

/** One request to an Image API with the token; bodies that are objects go as JSON. */
export async function call(
  base: string,
  token: string,
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const isData = body instanceof Uint8Array;
  const res = await fetch(`${base}${url}`, {
    method,
    headers: {
      'X-Auth-Token': token,
      ...(body === undefined
        ? {}
        : { 'Content-Type': isData ? 'application/octet-stream' : 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: isData ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    text,
    json: () => JSON.parse(text) as Record<string, unknown>,
    headers: res.headers,
  };
}

/** The image's data as the API serves it, hashed. */
export async function downloadSha256(base: string, token: string, id: string): Promise<string> {
  const res = await fetch(`${base}/v2/images/${id}/file`, { headers: { 'X-Auth-Token': token } });
  if (res.status !== 200) throw new Error(`download of ${id} from ${base}: HTTP ${res.status}`);
  return createHash('sha256')
    .update(Buffer.from(await res.arrayBuffer()))
    .digest('hex');
}

export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

export async function rbd(...args: string[]): Promise<string> {
  return (await run('rbd', args)).stdout;
}

export { freePort };

/** Removes the RBD image a test left behind, whatever state it is in (best effort: it may never have existed). */
export async function removeRbdImage(id: string): Promise<void> {
  await rbd('snap', 'unprotect', `images/${id}@snap`).catch(() => undefined);
  await rbd('snap', 'purge', '--no-progress', `images/${id}`).catch(() => undefined);
  await rbd('rm', '--no-progress', `images/${id}`).catch(() => undefined);
}

export async function rbdImages(): Promise<string[]> {
  return JSON.parse(await rbd('-p', 'images', 'ls', '--format', 'json')) as string[];
}

/** Bytes stored in the images pool, as `ceph df` reports them. */
export async function poolStored(): Promise<number> {
  const df = JSON.parse((await run('ceph', ['df', '--format', 'json'])).stdout) as {
    pools: { name: string; stats: { stored: number } }[];
  };
  return df.pools.find((p) => p.name === 'images')?.stats.stored ?? 0;
}

/**
 * `poolStored()` once it has stopped moving. The mgr republishes pool statistics every few seconds, so a reading
 * taken right after an earlier test removed images can still count them, and a growth measured from it comes out
 * short by whatever the removal freed.
 */
export async function settledPoolStored(): Promise<number> {
  let last = await poolStored();
  let unchangedSince = Date.now();
  const deadline = Date.now() + 60_000;
  while (Date.now() - unchangedSince < 11_000 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = await poolStored();
    if (now !== last) {
      last = now;
      unchangedSince = Date.now();
    }
  }
  return last;
}

const SYSTEM_PATH = `/usr/sbin:/usr/bin:/sbin:/bin:${process.env.PATH ?? ''}`;

/**
 * Debian's upstream glance-api (the stack runs it the same way) with an rbd store on the given database, so that
 * it and our server share one database and one pool.
 */
export class UpstreamGlance {
  dir = '';
  base = '';
  private child: ChildProcess | null = null;

  constructor(private readonly db: ScratchDatabase) {}

  async start(): Promise<void> {
    const env = loadStackEnv();
    this.dir = mkdtempSync(path.join(tmpdir(), 'glance-upstream-rbd-'));
    const port = await freePort();
    this.base = `http://127.0.0.1:${port}`;
    const conf = path.join(this.dir, 'glance-api.conf');
    const lines = [
      '[DEFAULT]',
      'bind_host = 127.0.0.1',
      `bind_port = ${port}`,
      'workers = 1',
      `log_file = ${path.join(this.dir, 'glance-api.log')}`,
      '[database]',
      `connection = ${this.db.url}`,
      '[keystone_authtoken]',
      `www_authenticate_uri = ${env.OS_AUTH_URL}`,
      `auth_url = ${env.OS_AUTH_URL}`,
      'memcached_servers =',
      'auth_type = password',
      'project_domain_name = Default',
      'user_domain_name = Default',
      'project_name = service',
      `username = ${env.GLANCE_SERVICE_USER}`,
      `password = ${env.GLANCE_SERVICE_PASSWORD}`,
      '[paste_deploy]',
      'flavor = keystone',
      '[glance_store]',
      'stores = rbd',
      'default_store = rbd',
      ...Object.entries(RBD_OPTIONS()).map(([k, v]) => `${k} = ${v}`),
      '[oslo_concurrency]',
      `lock_path = ${path.join(this.dir, 'locks')}`,
      '[os_glance_staging_store]',
      `filesystem_store_datadir = ${path.join(this.dir, 'staging')}`,
      '[os_glance_tasks_store]',
      `filesystem_store_datadir = ${path.join(this.dir, 'tasks')}`,
    ];
    writeFileSync(conf, `${lines.join('\n')}\n`, { mode: 0o600 });
    const child = spawn('glance-api', ['--config-file', conf], {
      env: { ...process.env, PATH: SYSTEM_PATH },
      stdio: 'ignore',
      detached: true,
    });
    this.child = child;
    for (let i = 0; i < 600; i++) {
      if (child.exitCode !== null) throw new Error(`upstream glance-api exited:\n${this.log()}`);
      const status = await fetch(`${this.base}/`)
        .then((r) => r.status)
        .catch(() => 0);
      if (status === 300) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`upstream glance-api did not answer:\n${this.log()}`);
  }

  log(): string {
    try {
      return readFileSync(path.join(this.dir, 'glance-api.log'), 'utf8').split('\n').slice(-20).join('\n');
    } catch {
      return '';
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.pid !== undefined) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      // Its workers are in its process group.
      process.kill(-child.pid, 'SIGTERM');
      await exited;
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
