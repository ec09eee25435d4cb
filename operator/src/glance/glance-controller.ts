import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { API_VERSION, GROUP, KIND, PLURAL, VERSION } from '../api/glance-service-types.js';
import { Controller } from '../runtime/controller.js';
import type { EventRecorder } from '../runtime/events.js';
import type { WatchSource } from '../runtime/informer.js';
import type { KubeClient } from '../runtime/kube-client.js';
import type { OperatorMetrics } from '../runtime/operator-metrics.js';
import { MANAGED_SELECTOR } from './names.js';
import { GlanceServiceReconciler } from './reconciler.js';

export interface GlanceControllerOptions {
  kube: KubeClient;
  events: EventRecorder;
  metrics: OperatorMetrics;
  log: Logger;
  /** Watch one namespace only; default all. */
  namespace?: string;
  resyncMs: number;
  stalledRetryMs: number;
  workers?: number;
  backoff?: { baseMs: number; maxMs: number };
}

/** The collection path of a resource, in one namespace or across all. */
function collectionPath(apiVersion: string, resource: string, namespace: string | undefined): string {
  const root = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return namespace ? `${root}/namespaces/${namespace}/${resource}` : `${root}/${resource}`;
}

// The kinds a GlanceService owns (the images claim is not owned: see workload.ts).
const OWNED = [
  { apiVersion: 'v1', kind: 'Secret', resource: 'secrets' },
  { apiVersion: 'v1', kind: 'Service', resource: 'services' },
  { apiVersion: 'apps/v1', kind: 'Deployment', resource: 'deployments' },
  { apiVersion: 'batch/v1', kind: 'Job', resource: 'jobs' },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', resource: 'poddisruptionbudgets' },
];

export function createGlanceController(opts: GlanceControllerOptions): Controller {
  const { kube, namespace } = opts;
  const primary: WatchSource & { apiVersion: string; kind: string } = {
    apiVersion: API_VERSION,
    kind: KIND,
    description: `${PLURAL}.${GROUP}`,
    path: collectionPath(API_VERSION, PLURAL, namespace),
    list: async () =>
      (namespace
        ? await kube.custom.listNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            plural: PLURAL,
            namespace,
          })
        : await kube.custom.listClusterCustomObject({
            group: GROUP,
            version: VERSION,
            plural: PLURAL,
          })) as KubernetesListObject<KubernetesObject>,
  };
  // Only objects carrying the operator's label are cached, not every Secret in the cluster.
  const owned: WatchSource[] = OWNED.map(({ apiVersion, kind, resource }) => ({
    description: resource,
    path: collectionPath(apiVersion, resource, namespace),
    labelSelector: MANAGED_SELECTOR,
    list: () =>
      kube.objects.list(
        apiVersion,
        kind,
        namespace,
        undefined,
        undefined,
        undefined,
        undefined,
        MANAGED_SELECTOR,
      ),
  }));
  const reconciler = new GlanceServiceReconciler(opts);
  return new Controller({
    name: 'glanceservice',
    config: kube.config,
    primary,
    owned,
    reconcile: reconciler.reconcile,
    workers: opts.workers,
    backoff: opts.backoff,
    metrics: opts.metrics,
    log: opts.log,
  });
}
