import { ApiException, type V1Lease } from '@kubernetes/client-node';
import type { LeaseApi } from '../../operator/src/runtime/leader-election.js';

function apiError(code: number, reason: string): ApiException<string> {
  return new ApiException(
    code,
    reason,
    JSON.stringify({ kind: 'Status', code, reason, message: reason }),
    {},
  );
}

/**
 * Leases held in memory as the API server holds them: a create of an existing one fails with 409, a replace at
 * a stale resourceVersion fails with 409, every write bumps the resourceVersion. Each candidate gets its own
 * connection (`connect()`), which a test can cut so that its calls hang, as towards an API server that no
 * longer answers.
 */
export class FakeLeases {
  private readonly leases = new Map<string, V1Lease>();
  private version = 0;

  connect(): LeaseApi & { hang: boolean } {
    const answer = <T>(work: () => T): Promise<T> =>
      conn.hang ? new Promise<T>(() => undefined) : Promise.resolve().then(work);
    const conn = {
      hang: false,
      readNamespacedLease: ({ name, namespace }: { name: string; namespace: string }) =>
        answer(() => {
          const lease = this.leases.get(`${namespace}/${name}`);
          if (!lease) throw apiError(404, 'NotFound');
          return structuredClone(lease);
        }),
      createNamespacedLease: ({ namespace, body }: { namespace: string; body: V1Lease }) =>
        answer(() => {
          const key = `${namespace}/${body.metadata?.name}`;
          if (this.leases.has(key)) throw apiError(409, 'AlreadyExists');
          return this.put(key, body);
        }),
      replaceNamespacedLease: ({
        name,
        namespace,
        body,
      }: {
        name: string;
        namespace: string;
        body: V1Lease;
      }) =>
        answer(() => {
          const key = `${namespace}/${name}`;
          const current = this.leases.get(key);
          if (!current) throw apiError(404, 'NotFound');
          if (body.metadata?.resourceVersion !== current.metadata?.resourceVersion) {
            throw apiError(409, 'Conflict');
          }
          return this.put(key, body);
        }),
    };
    return conn as unknown as LeaseApi & { hang: boolean };
  }

  holder(namespace: string, name: string): string | undefined {
    return this.leases.get(`${namespace}/${name}`)?.spec?.holderIdentity;
  }

  /** Writes another holder into the lease, as a person editing it (or a candidate whose clock jumped) would. */
  takeOver(namespace: string, name: string, identity: string): void {
    const key = `${namespace}/${name}`;
    const lease = this.leases.get(key);
    if (!lease) throw new Error(`no lease ${key}`);
    this.put(key, { ...lease, spec: { ...lease.spec, holderIdentity: identity } });
  }

  private put(key: string, body: V1Lease): V1Lease {
    const stored = structuredClone(body);
    stored.metadata = { ...stored.metadata, resourceVersion: String(++this.version) };
    this.leases.set(key, stored);
    return structuredClone(stored);
  }
}
