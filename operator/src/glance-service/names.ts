import type { V1OwnerReference } from '@kubernetes/client-node';
import {
  API_VERSION,
  apiServiceName,
  apiServiceUrl,
  GROUP,
  GLANCE_SERVICE_KIND,
  keystonePasswordSecretName,
  MANAGED_BY,
  type GlanceService,
} from '../api/glance-service-types.js';

export { API_PORT, MANAGED_BY } from '../api/glance-service-types.js';

export const FINALIZER = `${GROUP}/cleanup`;
/** Selects every object this operator owns, for its informers. */
export const MANAGED_SELECTOR = `app.kubernetes.io/managed-by=${MANAGED_BY}`;
export const CONFIG_HASH_ANNOTATION = `${GROUP}/config-hash`;
export const APPLIED_HASH_ANNOTATION = `${GROUP}/applied-hash`;

/** The names of everything one GlanceService owns, derived from its name alone. */
export function objectNames(name: string) {
  return {
    api: apiServiceName(name),
    config: `${name}-config`,
    dbPassword: `${name}-db-password`,
    keystonePassword: keystonePasswordSecretName(name),
    cephClient: `${name}-ceph-client`,
    imagesClaim: `${name}-images`,
    dbSyncPrefix: `${name}-db-sync-`,
  };
}

export function labels(name: string, component: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'glance',
    'app.kubernetes.io/instance': name,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/managed-by': MANAGED_BY,
  };
}

export function selectorLabels(name: string, component: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'glance',
    'app.kubernetes.io/instance': name,
    'app.kubernetes.io/component': component,
  };
}

export function ownerReference(gs: GlanceService): V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: GLANCE_SERVICE_KIND,
    name: gs.metadata.name,
    uid: gs.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** The cluster URL of the API Service: the default of every Keystone endpoint. */
export function serviceUrl(gs: GlanceService): string {
  return apiServiceUrl(gs.metadata.name, gs.metadata.namespace);
}
