import { IMAGE } from '../api/image-types.js';
import type { UrlPolicy } from '../net/url-policy.js';
import { Controller, type ResourceControllerOptions } from '../runtime/controller.js';
import { watchCustomResource } from '../runtime/watch.js';
import { ImageReconciler } from './reconciler.js';
import { TransferManager } from './transfer-manager.js';

export interface ImageControllerOptions extends ResourceControllerOptions {
  /** Transfers running at once, across all Images. */
  maxTransfers: number;
  progressMs?: number;
  retryBaseMs?: number;
  /** Where sources, Keystone and Glance may be reached: the operator's settings (default: the built-in refusals). */
  urlPolicy?: UrlPolicy;
}

export interface ImageController {
  controller: Controller;
  transfers: TransferManager;
  /** Stops the controller, then aborts the transfers still running (their images stay queued). */
  stop(): Promise<void>;
}

export function createImageController(opts: ImageControllerOptions): ImageController {
  const { kube, namespace } = opts;
  const primary = watchCustomResource(kube, IMAGE, namespace);
  const transfers = new TransferManager(opts.maxTransfers);
  const reconciler = new ImageReconciler({
    kube,
    events: opts.events,
    metrics: opts.metrics,
    transfers,
    resyncMs: opts.resyncMs,
    stalledRetryMs: opts.stalledRetryMs,
    deletionTimeoutMs: opts.deletionTimeoutMs,
    progressMs: opts.progressMs ?? 5000,
    retryBaseMs: opts.retryBaseMs ?? 5000,
    enqueue: (key) => controller.enqueue(key),
    ...(opts.urlPolicy ? { urlPolicy: opts.urlPolicy } : {}),
    ...(opts.fence ? { fence: opts.fence } : {}),
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
