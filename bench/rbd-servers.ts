import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freePort } from '../test/harness/paths.js';
import { stackValue } from '../test/harness/stack-env.js';
import type { BenchContext, Server } from './scenario.js';

const exec = promisify(execFile);
const SYSTEM_PATH = `/usr/sbin:/usr/bin:/sbin:/bin:${process.env.PATH ?? ''}`;

/** The install guide's Ceph settings, as the stack's Ceph provides them (pool `images`, client.glance). */
export const RBD_POOL = 'images';
export const RBD_USER = 'glance';
const rbdStore = (): Record<string, string> => ({
  stores: 'rbd',
  default_store: 'rbd',
  rbd_store_pool: RBD_POOL,
  rbd_store_user: RBD_USER,
  rbd_store_ceph_conf: stackValue('CEPH_CONF'),
  rbd_store_chunk_size: '8',
});

/** Options a private instance sets differently from the stack's file: `section → key → value`, keys it has. */
export type ConfigChanges = Record<string, Record<string, string>>;

/**
 * A glance-api.conf of the stack with what must differ for a private instance: its port, its own log file and
 * lock/staging/tasks directories (never shared with the stack's running servers), `changes`, and [glance_store]
 * replaced by the rbd one unless `rbd` is false. Everything else (database, Keystone, workers, notifications)
 * stays the stack's, as for the file scenarios.
 */
export function rbdConfig(
  stackConf: string,
  port: number,
  dir: string,
  changes: ConfigChanges = {},
  rbd = true,
): string {
  const replaced: ConfigChanges = {
    ...changes,
    DEFAULT: { ...changes.DEFAULT, bind_port: String(port), log_file: path.join(dir, 'glance-api.log') },
    oslo_concurrency: { lock_path: path.join(dir, 'locks') },
    os_glance_staging_store: { filesystem_store_datadir: path.join(dir, 'staging') },
    os_glance_tasks_store: { filesystem_store_datadir: path.join(dir, 'tasks') },
  };
  const out: string[] = [];
  let section = '';
  for (const line of stackConf.split('\n')) {
    const header = /^\[([^\]]+)\]\s*$/.exec(line);
    if (header) {
      section = header[1]!;
      out.push(line);
      if (rbd && section === 'glance_store') {
        out.push(...Object.entries(rbdStore()).map(([k, v]) => `${k} = ${v}`));
      }
      continue;
    }
    if (rbd && section === 'glance_store') continue;
    const key = /^\s*([A-Za-z0-9_]+)\s*=/.exec(line)?.[1];
    const value = key === undefined ? undefined : replaced[section]?.[key];
    out.push(value === undefined ? line : `${key} = ${value}`);
  }
  return out.join('\n');
}

export interface Instance {
  server: Server;
  child: ChildProcess;
  /** Its log, locks, staging and tasks directories. */
  dir: string;
}

/** Runs as the glance user, as the stack runs its servers: it reads client.glance's keyring (root:glance 640). */
export async function spawnInstance(
  name: Server['name'],
  command: string[],
  stackConf: string,
  dir: string,
  configure: (stackConf: string, port: number, dir: string) => string = rbdConfig,
  label: string = name,
): Promise<Instance> {
  const port = await freePort();
  const own = path.join(dir, label);
  // Upstream finds its paste file by the config file's name: glance-api.conf → glance-api-paste.ini.
  const conf = path.join(own, 'glance-api.conf');
  for (const sub of ['locks', 'staging', 'tasks']) await mkdir(path.join(own, sub), { recursive: true });
  await writeFile(conf, configure(readFileSync(stackConf, 'utf8'), port, own), { mode: 0o640 });
  await exec('chown', ['-R', 'glance:glance', dir]);
  const out = openSync(path.join(own, 'stdout.log'), 'a');
  const child = spawn(
    'setpriv',
    ['--reuid=glance', '--regid=glance', '--init-groups', ...command, '--config-file', conf],
    { env: { ...process.env, PATH: SYSTEM_PATH }, stdio: ['ignore', out, out], detached: true },
  );
  closeSync(out);
  return { server: { name, url: `http://127.0.0.1:${port}` }, child, dir: own };
}

export async function answering({ server, child, dir }: Instance): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`${server.name} at ${server.url} exited ${child.exitCode}; see ${dir}`);
    const status = await fetch(`${server.url}/`)
      .then((r) => r.status)
      .catch(() => 0);
    if (status === 300) return;
    if (Date.now() > deadline)
      throw new Error(`${server.name} at ${server.url} did not answer within 120 s; see ${dir}`);
    await sleep(200);
  }
}

export async function stopInstance(instance: Instance): Promise<void> {
  const { child } = instance;
  if (child.exitCode !== null || child.pid === undefined) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  // Both servers fork workers into the process group setpriv started.
  process.kill(-child.pid, 'SIGTERM');
  await gone;
}

export interface RbdServers {
  ours: Server;
  upstream: Server;
}

let shared: Promise<RbdServers> | undefined;

/**
 * Our api-server and upstream glance-api, each a private instance with the rbd store on the stack's Ceph,
 * started once per run and shared by the rbd scenarios; stopped by the run's cleanups (at its end, or on a
 * signal).
 */
export function rbdServers(ctx: BenchContext): Promise<RbdServers> {
  shared ??= (async () => {
    const dir = await mkdtemp(path.join(ctx.workdir, 'rbd-servers-'));
    const started: Instance[] = [];
    ctx.cleanups.add('the rbd-backed servers', async () => {
      shared = undefined;
      await Promise.all(started.map(stopInstance));
      await rm(dir, { recursive: true, force: true });
    });
    // The copy of our server the stack installed for user glance, who may not read this clone.
    const ours = await spawnInstance(
      'ours',
      [stackValue('API_NODE'), '--enable-source-maps', stackValue('API_MAIN')],
      stackValue('API_CONF'),
      dir,
    );
    started.push(ours);
    const upstream = await spawnInstance('upstream', ['glance-api'], stackValue('UPSTREAM_GLANCE_CONF'), dir);
    started.push(upstream);
    await Promise.all([answering(ours), answering(upstream)]);
    ctx.progress(`rbd store: ours at ${ours.server.url}, upstream at ${upstream.server.url}`);
    return { ours: ours.server, upstream: upstream.server };
  })();
  return shared;
}
