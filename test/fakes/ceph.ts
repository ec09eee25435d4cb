import { randomBytes } from 'node:crypto';
import type {
  CephAdmin,
  CephAuth,
  CephCaps,
  OsdDump,
} from '../../operator/src/glance-service/admin-clients.js';
import { CEPH_EACCES, CEPH_ENOENT, CephError } from '../../operator/src/glance-service/ceph-cli.js';

const EINVAL = 22;

/** A cephx secret as keyrings hold it: type AES (1), creation time, length 16, then 16 random bytes. */
export function cephxKey(): string {
  const head = Buffer.alloc(12);
  head.writeUInt16LE(1, 0);
  head.writeUInt32LE(Math.floor(Date.now() / 1000), 2);
  head.writeUInt16LE(16, 10);
  return Buffer.concat([head, randomBytes(16)]).toString('base64');
}

export function keyringFor(entity: string, key: string): string {
  return `[${entity}]\n\tkey = ${key}\n`;
}

interface Pool {
  application_metadata: Record<string, unknown>;
}

/**
 * An in-memory Ceph cluster with pools and cephx users, answering the commands the operator runs as the ceph
 * CLI does: a keyring whose key is not the admin's is refused with EACCES on the first command, `auth get`,
 * `auth caps` and `auth del` of a missing user fail with ENOENT, `auth get-or-create` of an existing user with
 * other caps fails with EINVAL, creating an existing pool or removing a missing one succeeds, as does removing a config-key that is not set. `writes` lists
 * every command that changed something.
 */
export class FakeCeph {
  readonly fsid = '0b0d7c94-5ad1-4bb4-9a3e-0f7c3c7e2b11';
  readonly pools = new Map<string, Pool>();
  readonly auth = new Map<string, CephAuth>();
  /** The monitors' config-key store. */
  readonly configKeys = new Map<string, string>();
  readonly writes: string[] = [];
  /** While set, every command fails as one does when no monitor answers. */
  down = false;
  /** Sessions not closed yet (each holds a temporary directory with the admin keyring). */
  open = 0;

  constructor(readonly monHost = '[v2:10.0.0.2:3300]') {
    const key = cephxKey();
    this.auth.set('client.admin', { entity: 'client.admin', key, caps: { mon: 'allow *', osd: 'allow *' } });
  }

  /** The admin keyring file, as the admin Secret holds it. */
  adminKeyring(): string {
    return keyringFor('client.admin', this.auth.get('client.admin')?.key ?? '');
  }

  /** The connector the reconciler uses: like the CLI, nothing is checked before the first command. */
  async connect(target: { monHost: string; adminUser: string; keyring: string }): Promise<CephAdmin> {
    this.open += 1;
    const key = /^\s*key\s*=\s*(\S+)/m.exec(target.keyring)?.[1];
    const admin = this.auth.get(`client.${target.adminUser}`);
    const allowed = target.monHost === this.monHost && !!admin && admin.key === key;
    return new FakeCephSession(this, allowed);
  }
}

class FakeCephSession implements CephAdmin {
  private closed = false;

  constructor(
    private readonly ceph: FakeCeph,
    private readonly allowed: boolean,
  ) {}

  private run(): void {
    if (this.closed) throw new Error('ceph session used after close');
    if (this.ceph.down)
      throw new CephError(1, 'ceph osd dump: [errno 110] RADOS timed out (error connecting to the cluster)');
    if (!this.allowed)
      throw new CephError(
        CEPH_EACCES,
        'ceph osd dump: [errno 13] RADOS permission denied (error connecting to the cluster)',
      );
  }

  private write(command: string): void {
    this.run();
    this.ceph.writes.push(command);
  }

  async osdDump(): Promise<OsdDump> {
    this.run();
    return structuredClone({
      fsid: this.ceph.fsid,
      pools: [...this.ceph.pools].map(([pool_name, p]) => ({ pool_name, ...p })),
    });
  }

  async createPool(pool: string, pgNum?: number): Promise<void> {
    this.write(`osd pool create ${pool}${pgNum ? ` ${pgNum}` : ''}`);
    if (!this.ceph.pools.has(pool)) this.ceph.pools.set(pool, { application_metadata: {} });
  }

  async initRbdPool(pool: string): Promise<void> {
    this.write(`rbd pool init ${pool}`);
    const found = this.ceph.pools.get(pool);
    if (!found)
      throw new CephError(
        CEPH_ENOENT,
        `rbd pool init ${pool}: error opening pool '${pool}': (2) No such file or directory`,
      );
    found.application_metadata.rbd = {};
  }

  async deletePool(pool: string): Promise<void> {
    this.write(`osd pool rm ${pool}`);
    this.ceph.pools.delete(pool);
  }

  async getAuth(entity: string): Promise<CephAuth | undefined> {
    this.run();
    const found = this.ceph.auth.get(entity);
    return found && structuredClone(found);
  }

  async createAuth(entity: string, caps: CephCaps): Promise<void> {
    this.write(`auth get-or-create ${entity}`);
    const found = this.ceph.auth.get(entity);
    if (found) {
      if (found.caps.mon !== caps.mon || found.caps.osd !== caps.osd) {
        throw new CephError(
          EINVAL,
          `ceph auth get-or-create ${entity}: Error EINVAL: key for ${entity} exists but cap mon does not match`,
        );
      }
      return;
    }
    this.ceph.auth.set(entity, { entity, key: cephxKey(), caps: { ...caps } });
  }

  async setCaps(entity: string, caps: CephCaps): Promise<void> {
    this.write(`auth caps ${entity}`);
    const found = this.ceph.auth.get(entity);
    if (!found)
      throw new CephError(
        CEPH_ENOENT,
        `ceph auth caps ${entity}: Error ENOENT: couldn't find entity ${entity}`,
      );
    found.caps = { ...caps };
  }

  async deleteAuth(entity: string): Promise<boolean> {
    this.write(`auth del ${entity}`);
    return this.ceph.auth.delete(entity);
  }

  async getConfigKey(key: string): Promise<string | undefined> {
    this.run();
    return this.ceph.configKeys.get(key);
  }

  async setConfigKey(key: string, value: string): Promise<void> {
    this.write(`config-key set ${key}`);
    this.ceph.configKeys.set(key, value);
  }

  async removeConfigKey(key: string): Promise<void> {
    this.write(`config-key rm ${key}`);
    this.ceph.configKeys.delete(key);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ceph.open -= 1;
  }
}
