import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { GROUP, VERSION } from '../api/glance-service-types.js';
import { IMAGE_API_VERSION, IMAGE_KIND, IMAGE_PLURAL } from '../api/image-types.js';
import { Controller } from '../runtime/controller.js';
import type { EventRecorder } from '../runtime/events.js';
import type { WatchSource } from '../runtime/informer.js';
import type { KubeClient } from '../runtime/kube-client.js';
import type { OperatorMetrics } from '../runtime/operator-metrics.js';
import { ImageReconciler } from './reconciler.js';
import { TransferManager } from './transfers.js';

export interface ImageControllerOptions {
  kube: KubeClient;
  events: EventRecorder;
  metrics: OperatorMetrics;
  log: Logger;
  namespace?: string;
  resyncMs: number;
  stalledRetryMs: number;
  /** Transfers running at once, across all Images. */
  maxTransfers: number;
  progressMs?: number;
  retryBaseMs?: number;
  workers?: number;
  backoff?: { baseMs: number; maxMs: number };
}

export interface ImageController {
  controller: Controller;
  transfers: TransferManager;
  /** Stops the controller, then aborts the transfers still running (their images stay queued). */
  stop(): Promise<void>;
}

export function createImageController(opts: ImageControllerOptions): ImageController {
  const { kube, namespace } = opts;
  const root = `/apis/${IMAGE_API_VERSION}`;
  const primary: WatchSource & { apiVersion: string; kind: string } = {
    apiVersion: IMAGE_API_VERSION,
    kind: IMAGE_KIND,
    description: `${IMAGE_PLURAL}.${GROUP}`,
    path: namespace ? `${root}/namespaces/${namespace}/${IMAGE_PLURAL}` : `${root}/${IMAGE_PLURAL}`,
    list: async () =>
      (namespace
        ? await kube.custom.listNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            plural: IMAGE_PLURAL,
            namespace,
          })
        : await kube.custom.listClusterCustomObject({
            group: GROUP,
            version: VERSION,
            plural: IMAGE_PLURAL,
          })) as KubernetesListObject<KubernetesObject>,
  };
  const transfers = new TransferManager(opts.maxTransfers);
  const reconciler = new ImageReconciler({
    kube,
    events: opts.events,
    metrics: opts.metrics,
    transfers,
    resyncMs: opts.resyncMs,
    stalledRetryMs: opts.stalledRetryMs,
    progressMs: opts.progressMs ?? 5000,
    retryBaseMs: opts.retryBaseMs ?? 5000,
    enqueue: (key) => controller.enqueue(key),
  });
  const controller = new Controller({
    name: 'image',
    config: kube.config,
    primary,
    owned: [],
    reconcile: reconciler.reconcile,
    workers: opts.workers,
    backoff: opts.backoff,
    metrics: opts.metrics,
    log: opts.log,
  });
  return {
    controller,
    transfers,
    stop: async () => {
      await controller.stop();
      transfers.cancelAll();
    },
  };
}
