import { createHash } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { StoredObject } from '../runtime/kube-client.js';
import { describeKubeError, kubeStatusCode } from '../runtime/kube-errors.js';
import { isSubset } from '../runtime/subset.js';
import { TerminalError } from '../runtime/errors.js';
import { notify, type ReconcileContext } from './context.js';
import { APPLIED_HASH_ANNOTATION } from './names.js';

export type ApplyOutcome = 'created' | 'updated' | 'restored' | 'unchanged';

export function hashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

/** An object as the operator builds it: always addressed in full. */
export type Desired<T extends KubernetesObject> = T & {
  apiVersion: string;
  kind: string;
  metadata: NonNullable<T['metadata']> & { name: string; namespace: string };
};

/**
 * Makes the object match `desired`, writing only when needed. The hash of the last applied form, kept in an
 * annotation, catches spec changes, including fields the operator stopped setting (server-side apply removes
 * those); the subset check catches fields someone changed by hand. Either one leads to a forced server-side
 * apply and an Event.
 */
export async function applyOwned<T extends KubernetesObject>(
  ctx: ReconcileContext,
  desired: Desired<T>,
): Promise<{ object: StoredObject<T>; outcome: ApplyOutcome }> {
  const hash = hashOf(desired).slice(0, 16);
  const withHash: Desired<T> = {
    ...desired,
    metadata: {
      ...desired.metadata,
      annotations: { ...desired.metadata.annotations, [APPLIED_HASH_ANNOTATION]: hash },
    },
  };
  const { apiVersion, kind } = desired;
  const { namespace, name } = desired.metadata;
  const current = await ctx.kube.read<T>({ apiVersion, kind, namespace, name });
  const sameSpec = current?.metadata.annotations?.[APPLIED_HASH_ANNOTATION] === hash;
  if (current && sameSpec && isSubset(withHash, current)) return { object: current, outcome: 'unchanged' };
  let object: StoredObject<T>;
  try {
    object = await ctx.kube.apply(withHash);
  } catch (err) {
    // 422: the API server refuses the object as specified (an immutable field changed, say); retrying won't help.
    if (kubeStatusCode(err) === 422)
      throw new TerminalError('Rejected', `${kind} ${name}: ${describeKubeError(err)}`);
    throw err;
  }
  const outcome: ApplyOutcome = !current ? 'created' : sameSpec ? 'restored' : 'updated';
  const note = {
    created: `Created ${kind} ${name}`,
    updated: `Updated ${kind} ${name} to match the spec`,
    restored: `Restored ${kind} ${name}: fields the operator manages had been changed outside it`,
  }[outcome];
  await notify(
    ctx,
    `${kind}${outcome === 'created' ? 'Created' : outcome === 'updated' ? 'Updated' : 'Restored'}`,
    note,
  );
  return { object, outcome };
}
