import type { KubernetesObject } from '@kubernetes/client-node';
import type { CustomResourceType, KubeClient, StoredObject } from './kube-client.js';
import { isSubset } from './subset.js';

/**
 * Replaces the object's status with `status` unless it holds that already, and returns whether it wrote. The
 * write is conditional on the resourceVersion the object was read at: if anyone wrote the object since (a newer
 * pass, a person, another operator process that leads now), it fails with 409 Conflict and changes nothing,
 * and the controller reconciles the object again from a fresh read. The object is updated in place, so that
 * later writes in the same pass compare against, and are conditional on, what is stored now.
 */
export async function writeStatus<S extends object>(
  kube: KubeClient,
  type: CustomResourceType,
  obj: StoredObject<KubernetesObject & { status?: S }>,
  status: S,
): Promise<boolean> {
  // What the API server stores: undefined members dropped.
  const next = JSON.parse(JSON.stringify(status)) as S;
  const old = obj.status;
  if (old && isSubset(next, old) && isSubset(old, next)) return false;
  const { namespace = '', name = '', resourceVersion = '' } = obj.metadata;
  const updated = await kube.replaceCustomStatus<KubernetesObject & { status?: S }>(
    type,
    namespace,
    name,
    resourceVersion,
    next,
  );
  obj.status = updated.status ?? next;
  obj.metadata.resourceVersion = updated.metadata.resourceVersion;
  return true;
}
