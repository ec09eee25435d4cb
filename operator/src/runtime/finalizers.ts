import type { KubernetesObject } from '@kubernetes/client-node';
import type { CustomResourceType, KubeClient, StoredObject } from './kube-client.js';

export function hasFinalizer(obj: KubernetesObject, finalizer: string): boolean {
  return obj.metadata?.finalizers?.includes(finalizer) ?? false;
}

// The patch carries the resourceVersion that was read, so a concurrent change of the list fails with 409 and
// is retried from a fresh read instead of dropping someone else's finalizer. `obj` takes the new list and
// resourceVersion in place, so that a status written later in the same pass is conditional on this write.
async function patchFinalizers(
  kube: KubeClient,
  type: CustomResourceType,
  obj: StoredObject,
  finalizers: string[],
): Promise<StoredObject> {
  const updated = await kube.mergePatchCustom(type, obj.metadata.namespace ?? '', obj.metadata.name ?? '', {
    metadata: { finalizers, resourceVersion: obj.metadata.resourceVersion },
  });
  obj.metadata.finalizers = updated.metadata.finalizers;
  obj.metadata.resourceVersion = updated.metadata.resourceVersion;
  return updated;
}

export async function addFinalizer(
  kube: KubeClient,
  type: CustomResourceType,
  obj: StoredObject,
  finalizer: string,
): Promise<StoredObject> {
  if (hasFinalizer(obj, finalizer)) return obj;
  return patchFinalizers(kube, type, obj, [...(obj.metadata.finalizers ?? []), finalizer]);
}

export async function removeFinalizer(
  kube: KubeClient,
  type: CustomResourceType,
  obj: StoredObject,
  finalizer: string,
): Promise<void> {
  if (!hasFinalizer(obj, finalizer)) return;
  await patchFinalizers(
    kube,
    type,
    obj,
    (obj.metadata.finalizers ?? []).filter((f) => f !== finalizer),
  );
}
