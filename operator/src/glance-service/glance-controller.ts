import { GLANCE_SERVICE } from '../api/glance-service-types.js';
import { UrlPolicy, urlPolicyEnv } from '../net/url-policy.js';
import { Controller, type ResourceControllerOptions } from '../runtime/controller.js';
import { watchCustomResource, watchLabelled, type WatchedKind } from '../runtime/watch.js';
import { liveAdminConnectors } from './live-admin-clients.js';
import { MANAGED_SELECTOR } from './names.js';
import { GlanceServiceReconciler } from './reconciler.js';

export interface GlanceControllerOptions extends ResourceControllerOptions {
  /** Where keystone.authUrl may point: the operator's settings (default: the policy's built-in refusals only). */
  urlPolicy?: UrlPolicy;
}

// The kinds a GlanceService owns (the images claim is not owned: see workload.ts).
const OWNED: WatchedKind[] = [
  { apiVersion: 'v1', kind: 'Secret', resource: 'secrets' },
  { apiVersion: 'v1', kind: 'Service', resource: 'services' },
  { apiVersion: 'apps/v1', kind: 'Deployment', resource: 'deployments' },
  { apiVersion: 'batch/v1', kind: 'Job', resource: 'jobs' },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', resource: 'poddisruptionbudgets' },
];

export function createGlanceController(opts: GlanceControllerOptions): Controller {
  const { kube, namespace } = opts;
  const primary = watchCustomResource(kube, GLANCE_SERVICE, namespace);
  // Only objects carrying the operator's label are cached, not every Secret in the cluster.
  const owned = OWNED.map((kind) => watchLabelled(kube, kind, namespace, MANAGED_SELECTOR));
  const urlPolicy = opts.urlPolicy ?? new UrlPolicy(urlPolicyEnv.parse({}));
  const reconciler = new GlanceServiceReconciler({
    ...opts,
    urlPolicy,
    connect: liveAdminConnectors(opts.metrics, urlPolicy, opts.fence),
  });
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
