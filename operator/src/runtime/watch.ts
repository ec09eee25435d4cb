import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { PrimarySource } from './controller.js';
import type { WatchSource } from './informer.js';
import type { CustomResourceType, KubeApiClient } from './kube-client.js';

/** The collection path of a resource, in one namespace or across all. */
function collectionPath(apiVersion: string, resource: string, namespace: string | undefined): string {
  const root = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return namespace ? `${root}/namespaces/${namespace}/${resource}` : `${root}/${resource}`;
}

/** The list and watch of a custom resource a controller reconciles, in `namespace` or across all. */
export function watchCustomResource(
  kube: KubeApiClient,
  type: CustomResourceType,
  namespace: string | undefined,
): PrimarySource {
  const { group, version, plural, kind } = type;
  const apiVersion = `${group}/${version}`;
  return {
    apiVersion,
    kind,
    description: `${plural}.${group}`,
    path: collectionPath(apiVersion, plural, namespace),
    list: async () =>
      (namespace
        ? await kube.custom.listNamespacedCustomObject({ group, version, plural, namespace })
        : await kube.custom.listClusterCustomObject({
            group,
            version,
            plural,
          })) as KubernetesListObject<KubernetesObject>,
  };
}

/** A built-in kind, as the watches of owned objects name it. */
export interface WatchedKind {
  apiVersion: string;
  kind: string;
  /** The plural in the URL path. */
  resource: string;
}

/**
 * The list and watch of objects of `kind` carrying `labelSelector`: only those are cached, not every object of
 * that kind in the cluster.
 */
export function watchLabelled(
  kube: KubeApiClient,
  { apiVersion, kind, resource }: WatchedKind,
  namespace: string | undefined,
  labelSelector: string,
): WatchSource {
  return {
    description: resource,
    path: collectionPath(apiVersion, resource, namespace),
    labelSelector,
    list: () => kube.listCollection(apiVersion, kind, namespace, labelSelector),
  };
}
