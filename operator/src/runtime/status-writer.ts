import type { KubernetesObject } from '@kubernetes/client-node';
import type { CustomResourceType, KubeClient, StoredObject } from './kube-client.js';
import { isSubset } from './subset.js';

/**
 * Replaces the object's status with `status` unless it holds that already, and returns whether it wrote. The
 * object is updated in place, so that later writes in the same pass compare against what is stored now.
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
  const { namespace = '', name = '' } = obj.metadata;
  const updated = await kube.replaceCustomStatus<KubernetesObject & { status?: S }>(
    type,
    namespace,
    name,
    next,
  );
  obj.status = updated.status ?? next;
  obj.metadata.resourceVersion = updated.metadata.resourceVersion;
  return true;
}
