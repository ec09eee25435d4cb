import type { KubernetesObject, V1Namespace } from '@kubernetes/client-node';
import { TerminalError } from './errors.js';
import type { KubeClient } from './kube-client.js';

/**
 * How long a deleted object keeps trying to clean up what it manages outside Kubernetes before it lets go of
 * it. The clock runs from metadata.deletionTimestamp, so a restarted operator keeps the same deadline.
 */
export interface DeletionClock {
  /** When retrying stops and whatever is still there is left behind, with a Warning. */
  giveUpAt: Date;
  /**
   * The object's namespace is being deleted too: its Secrets are going or gone, and no new one can be created
   * in it, so a failure only a person could fix will never be fixed.
   */
  namespaceGoing: boolean;
}

/** Whether the namespace is being deleted (or is gone). A namespace the operator may not read is not. */
export async function namespaceGoing(kube: KubeClient, namespace: string): Promise<boolean> {
  try {
    const ns = await kube.read<V1Namespace>({
      apiVersion: 'v1',
      kind: 'Namespace',
      namespace: '',
      name: namespace,
    });
    return !ns || !!ns.metadata.deletionTimestamp;
  } catch {
    return false;
  }
}

export async function deletionClock(
  kube: KubeClient,
  obj: KubernetesObject,
  timeoutMs: number,
): Promise<DeletionClock> {
  const deleted = obj.metadata?.deletionTimestamp;
  const since = deleted ? new Date(deleted).getTime() : Date.now();
  return {
    giveUpAt: new Date((Number.isNaN(since) ? Date.now() : since) + timeoutMs),
    namespaceGoing: await namespaceGoing(kube, obj.metadata?.namespace ?? ''),
  };
}

/**
 * Whether a cleanup that failed with `err` stops trying: once the deadline has passed, or at once when a
 * person would have to fix it (a TerminalError: a Secret gone or not allowed, credentials refused) in a
 * namespace that is going. Anything else (an outage) is retried until the deadline.
 */
export function givesUp(clock: DeletionClock, err: unknown, now = new Date()): boolean {
  return now >= clock.giveUpAt || (clock.namespaceGoing && err instanceof TerminalError);
}

/** The delay before the next try: `ms`, but never past the deadline (plus a second, to be past it). */
export function retryBefore(clock: DeletionClock, ms: number, now = new Date()): number {
  return Math.max(1000, Math.min(ms, clock.giveUpAt.getTime() - now.getTime() + 1000));
}

/** The deadline as the status says it, to a person deciding whether to wait or to act. */
export function givingUpNote(clock: DeletionClock): string {
  return `the operator gives up and leaves it at ${clock.giveUpAt.toISOString().slice(0, 19)}Z`;
}
