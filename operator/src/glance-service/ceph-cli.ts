import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CephAdmin, CephAuth, CephCaps, OsdDump } from './admin-clients.js';

/** A `ceph`/`rbd` command that failed; `code` is the exit status, which for ceph is the errno. */
export class CephError extends Error {
  override readonly name = 'CephError';
  constructor(
    readonly code: number | null,
    message: string,
  ) {
    super(message);
  }
}

/** errno values the ceph CLI exits with. */
export const CEPH_EACCES = 13;
export const CEPH_ENOENT = 2;

export interface CephAdminOptions {
  monHost: string;
  adminUser: string;
  /** The admin keyring file's content. */
  keyring: string;
  connectTimeoutSeconds?: number;
  onWrite: (operation: string) => void;
}

/**
 * The ceph and rbd CLIs with admin credentials held in a private temporary directory (mode 0700, files 0600)
 * for as long as the session lasts: the key never appears in arguments or the environment.
 */
export class CephCliAdmin implements CephAdmin {
  private constructor(
    private readonly dir: string,
    private readonly opts: CephAdminOptions,
  ) {}

  static async open(opts: CephAdminOptions): Promise<CephCliAdmin> {
    const dir = await mkdtemp(path.join(tmpdir(), 'glance-operator-ceph-'));
    const conf = `[global]\nmon_host = ${opts.monHost}\n`;
    await writeFile(path.join(dir, 'ceph.conf'), conf, { mode: 0o600 });
    await writeFile(path.join(dir, 'admin.keyring'), opts.keyring, { mode: 0o600 });
    return new CephCliAdmin(dir, opts);
  }

  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  private commonArgs(): string[] {
    return [
      '--conf',
      path.join(this.dir, 'ceph.conf'),
      '--keyring',
      path.join(this.dir, 'admin.keyring'),
      '--id',
      this.opts.adminUser,
    ];
  }

  osdDump(): Promise<OsdDump> {
    return this.query<OsdDump>(['osd', 'dump']);
  }

  async createPool(pool: string, pgNum?: number): Promise<void> {
    await this.change(['osd', 'pool', 'create', pool, ...(pgNum ? [String(pgNum)] : [])]);
  }

  async initRbdPool(pool: string): Promise<void> {
    await this.rbd(['pool', 'init', pool]);
  }

  async deletePool(pool: string): Promise<void> {
    await this.change(['osd', 'pool', 'rm', pool, pool, '--yes-i-really-really-mean-it']);
  }

  async getAuth(entity: string): Promise<CephAuth | undefined> {
    try {
      return (await this.query<CephAuth[]>(['auth', 'get', entity]))[0];
    } catch (err) {
      if (err instanceof CephError && err.code === CEPH_ENOENT) return undefined;
      throw err;
    }
  }

  async createAuth(entity: string, caps: CephCaps): Promise<void> {
    await this.change(['auth', 'get-or-create', entity, 'mon', caps.mon, 'osd', caps.osd]);
  }

  async setCaps(entity: string, caps: CephCaps): Promise<void> {
    await this.change(['auth', 'caps', entity, 'mon', caps.mon, 'osd', caps.osd]);
  }

  async deleteAuth(entity: string): Promise<boolean> {
    try {
      await this.change(['auth', 'del', entity]);
      return true;
    } catch (err) {
      if (err instanceof CephError && err.code === CEPH_ENOENT) return false;
      throw err;
    }
  }

  async getConfigKey(key: string): Promise<string | undefined> {
    try {
      return await this.exec('ceph', ['config-key', 'get', key]);
    } catch (err) {
      if (err instanceof CephError && err.code === CEPH_ENOENT) return undefined;
      throw err;
    }
  }

  async setConfigKey(key: string, value: string): Promise<void> {
    await this.change(['config-key', 'set', key, value]);
  }

  async removeConfigKey(key: string): Promise<void> {
    await this.change(['config-key', 'rm', key]);
  }

  /** A read-only ceph command's JSON output. */
  private async query<T>(args: string[]): Promise<T> {
    const out = await this.exec('ceph', [...args, '--format', 'json']);
    return JSON.parse(out) as T;
  }

  /** A ceph command that changes the cluster. */
  private async change(args: string[]): Promise<string> {
    this.opts.onWrite(`${args[0]} ${args[1] ?? ''}`.trim());
    return this.exec('ceph', args);
  }

  /** An rbd command that changes the cluster. */
  private async rbd(args: string[]): Promise<void> {
    this.opts.onWrite(`rbd ${args[0]} ${args[1] ?? ''}`.trim());
    await this.exec('rbd', args);
  }

  private exec(command: 'ceph' | 'rbd', args: string[]): Promise<string> {
    const timeout = this.opts.connectTimeoutSeconds ?? 15;
    const full =
      command === 'ceph'
        ? [...this.commonArgs(), '--connect-timeout', String(timeout), ...args]
        : [...this.commonArgs(), ...args];
    return new Promise((resolve, reject) => {
      const child = spawn(command, full, {
        stdio: ['ignore', 'pipe', 'pipe'],
        // rbd has no connect timeout of its own; a hung monitor must not hang the reconcile.
        timeout: (timeout + 30) * 1000,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', (err) => reject(new CephError(null, `cannot run ${command}: ${err.message}`)));
      child.on('close', (code, signal) => {
        if (code === 0) {
          resolve(stdout);
          return;
        }
        // The last line names the failure ("Error ENOENT: ...", "[errno 13] RADOS permission denied ...").
        const why = stderr.trim().split('\n').pop() ?? '';
        reject(
          new CephError(
            code,
            `${command} ${args.slice(0, 3).join(' ')}: ${why || `exited with ${code ?? signal}`}`,
          ),
        );
      });
    });
  }
}
