import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mysql, { type Connection } from 'mysql2/promise';
import { loadStackEnv } from '../../harness/stack-env.js';

// Our api-server as operators run it: the built entry point, a glance-api.conf in a temp dir, its own MariaDB
// database and user (made with the stack's admin account) and Keystone auth against the stack.

export const MAIN_JS = path.resolve('dist/api-server/src/main.js');

export function requireBuild(): void {
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: run \`npm run build\` first`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export function adminConnection(database?: string): Promise<Connection> {
  const env = loadStackEnv();
  return mysql.createConnection({
    host: env.DB_HOST,
    port: Number(env.DB_PORT),
    user: env.DB_ADMIN_USER,
    password: env.DB_ADMIN_PASSWORD,
    ...(database ? { database } : {}),
    timezone: 'Z',
  });
}

/** A database and a user that may use only it, both dropped by `drop()`. */
export class ScratchDatabase {
  readonly name = `glance_http_${randomBytes(4).toString('hex')}`;
  readonly user = this.name;
  readonly password = randomBytes(12).toString('hex');

  async create(): Promise<void> {
    const conn = await adminConnection();
    try {
      await conn.query(`CREATE DATABASE \`${this.name}\` CHARACTER SET utf8`);
      await conn.query('CREATE USER ?@? IDENTIFIED BY ?', [this.user, '%', this.password]);
      await conn.query(`GRANT ALL PRIVILEGES ON \`${this.name}\`.* TO ?@?`, [this.user, '%']);
    } finally {
      await conn.end();
    }
  }

  get url(): string {
    const env = loadStackEnv();
    return `mysql+pymysql://${this.user}:${this.password}@${env.DB_HOST}:${env.DB_PORT}/${this.name}?charset=utf8`;
  }

  async drop(): Promise<void> {
    const conn = await adminConnection();
    try {
      await conn.query(`DROP DATABASE IF EXISTS \`${this.name}\``);
      await conn.query('DROP USER IF EXISTS ?@?', [this.user, '%']);
    } finally {
      await conn.end();
    }
  }
}

export interface ServerOptions {
  db: ScratchDatabase;
  workers?: number;
  /** Extra [DEFAULT] lines, e.g. `image_size_cap = 1024`. */
  defaults?: Record<string, string | number>;
  shutdownTimeoutSeconds?: number;
  /** Extra [glance_store] lines (after filesystem_store_datadir), e.g. `stores = rbd`. */
  glanceStore?: Record<string, string | number>;
  /** Further sections, e.g. one per backend of enabled_backends. */
  sections?: Record<string, Record<string, string | number>>;
  /** [paste_deploy] flavor; keystone by default. */
  flavor?: string;
}

/** One running api-server; `logs` collects everything it printed. */
export class ApiServer {
  dir = '';
  base = '';
  logs = '';
  private child: ChildProcess | null = null;

  constructor(private readonly opts: ServerOptions) {}

  get datadir(): string {
    return path.join(this.dir, 'images');
  }

  get configFile(): string {
    return path.join(this.dir, 'glance-api.conf');
  }

  async writeConfig(): Promise<void> {
    this.dir = mkdtempSync(path.join(tmpdir(), 'glance-http-'));
    const env = loadStackEnv();
    const port = await freePort();
    this.base = `http://127.0.0.1:${port}`;
    const defaults = { workers: this.opts.workers ?? 2, ...this.opts.defaults };
    const lines = [
      '[DEFAULT]',
      'bind_host = 127.0.0.1',
      `bind_port = ${port}`,
      ...Object.entries(defaults).map(([k, v]) => `${k} = ${v}`),
      '[database]',
      `connection = ${this.opts.db.url}`,
      '[paste_deploy]',
      `flavor = ${this.opts.flavor ?? 'keystone'}`,
      '[keystone_authtoken]',
      `www_authenticate_uri = ${env.OS_AUTH_URL}`,
      `auth_url = ${env.OS_AUTH_URL}`,
      'auth_type = password',
      `username = ${env.GLANCE_SERVICE_USER}`,
      `password = ${env.GLANCE_SERVICE_PASSWORD}`,
      'user_domain_name = Default',
      'project_name = service',
      'project_domain_name = Default',
      '[glance_store]',
      `filesystem_store_datadir = ${this.datadir}`,
      ...Object.entries(this.opts.glanceStore ?? {}).map(([k, v]) => `${k} = ${v}`),
      ...Object.entries(this.opts.sections ?? {}).flatMap(([name, options]) => [
        `[${name}]`,
        ...Object.entries(options).map(([k, v]) => `${k} = ${v}`),
      ]),
    ];
    writeFileSync(this.configFile, `${lines.join('\n')}\n`, { mode: 0o600 });
  }

  /** Runs `main.js <args>` to completion. */
  run(args: string[]): Promise<{ code: number | null; output: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [MAIN_JS, ...args, '--config-file', this.configFile], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr.on('data', (c: Buffer) => (output += c.toString()));
      child.on('exit', (code) => resolve({ code, output }));
    });
  }

  async start(extraArgs: string[] = []): Promise<void> {
    const args = [MAIN_JS, '--config-file', this.configFile, ...extraArgs];
    if (this.opts.shutdownTimeoutSeconds !== undefined) {
      args.push('--shutdown-timeout', String(this.opts.shutdownTimeoutSeconds));
    }
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout?.on('data', (c: Buffer) => (this.logs += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (this.logs += c.toString()));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`api-server exited with ${child.exitCode}:\n${this.logs}`);
      const ok = await fetch(`${this.base}/healthcheck`)
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`api-server did not answer within 30 s:\n${this.logs}`);
  }

  /** SIGTERM, then the exit code. */
  async stop(): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    return exited;
  }

  get process(): ChildProcess | null {
    return this.child;
  }

  cleanup(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Creates `db`, gives it upstream's schema with `db-sync` (as an operator would) and starts `server` on it. */
export async function startOnScratchDatabase(db: ScratchDatabase, server: ApiServer): Promise<void> {
  requireBuild();
  await db.create();
  await server.writeConfig();
  const sync = await server.run(['db-sync']);
  if (sync.code !== 0) throw new Error(`db-sync failed:\n${sync.output}`);
  await server.start();
}
