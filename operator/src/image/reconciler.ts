import { NO_FENCE, type WriteFence } from '../runtime/write-fence.js';
import type { Logger } from 'pino';
import { IMAGE, parseImageSpec, type ImageObject, type ImageSpec } from '../api/image-types.js';
import { UrlPolicy, urlPolicyEnv } from '../net/url-policy.js';
import type { ObjectKey, Reconcile } from '../runtime/controller.js';
import type { EventRecorder } from '../runtime/events.js';
import type { KubeClient, StoredObject } from '../runtime/kube-client.js';
import type { OperatorMetrics } from '../runtime/operator-metrics.js';
import { reconcileResource, type ResourceHandler } from '../runtime/reconcile.js';
import { deleteImages } from './deletion.js';
import type { GlanceImage } from './glance-images.js';
import { ImageActuator } from './lifecycle.js';
import { IMAGE_FINALIZER } from './names.js';
import { contentHashOf, type ImageDeps, type ImagePass } from './pass.js';
import { outcomes, reportFailure, writeImageStatus } from './status.js';
import {
  checkTargetEndpoints,
  KeystoneGlanceConnector,
  resolveTarget,
  type GlanceConnector,
} from './target.js';
import { streamFromSource, type TransferRunner } from './transfer-pipeline.js';
import type { TransferManager } from './transfer-manager.js';

export interface ImageReconcilerOptions {
  kube: KubeClient;
  events: EventRecorder;
  metrics: OperatorMetrics;
  transfers: TransferManager;
  /** Drift in Glance has no watch: a Ready image is re-read this often. */
  resyncMs: number;
  /** A Stalled image whose failure was not in the transfer (credentials, Secrets) is retried this often. */
  stalledRetryMs: number;
  /** How long a deleted Image keeps trying to delete its Glance images, from its deletionTimestamp. */
  deletionTimeoutMs: number;
  /** How often the status shows a running transfer's progress. */
  progressMs: number;
  /** First delay before a failed transfer is tried again; doubled each attempt up to 5 minutes. */
  retryBaseMs: number;
  /** Asks for a reconcile of the object soon (a transfer ended). */
  enqueue: (key: ObjectKey) => void;
  /** Opens the Image API of a target; default: Keystone sessions, cached until shortly before they expire. */
  glance?: GlanceConnector;
  /**
   * Where sources, checksum files, proxies and the Keystone and Glance of a `cloud` may be reached; default:
   * everything but loopback, link-local and metadata addresses.
   */
  urlPolicy?: UrlPolicy;
  /** Streams a source into Glance; default: from the URL, through checksum, decompression and sniffing. */
  runTransfer?: TransferRunner;
  /** Asked before every write to Glance (ResourceControllerOptions.fence). */
  fence?: WriteFence;
}

/** One pass over one Image: target → finalizer → find/adopt/create the image → update (README.md). */
export class ImageReconciler {
  readonly reconcile: Reconcile;

  constructor(opts: ImageReconcilerOptions) {
    const { kube, metrics } = opts;
    const deps: ImageDeps = {
      kube,
      events: opts.events,
      transfers: opts.transfers,
      urlPolicy: opts.urlPolicy ?? new UrlPolicy(urlPolicyEnv.parse({})),
      runTransfer: opts.runTransfer ?? streamFromSource,
      resyncMs: opts.resyncMs,
      stalledRetryMs: opts.stalledRetryMs,
      deletionTimeoutMs: opts.deletionTimeoutMs,
      progressMs: opts.progressMs,
      retryBaseMs: opts.retryBaseMs,
      enqueue: opts.enqueue,
      notBefore: new Map(),
    };
    const connector =
      opts.glance ??
      new KeystoneGlanceConnector(deps.urlPolicy, (operation) => {
        (opts.fence ?? NO_FENCE).check();
        metrics.writes.inc({ system: 'glance', operation, kind: 'Image' });
      });
    const handler: ResourceHandler<ImageObject, ImageSpec, GlanceImage> = {
      type: IMAGE,
      finalizer: IMAGE_FINALIZER,
      parse: (obj) => parseImageSpec(obj.spec),
      invalidSpec: async (obj, message) => {
        await writeImageStatus(kube, obj, { ...obj.status }, outcomes.invalidSpec(message));
        return {};
      },
      open: async (obj: StoredObject<ImageObject>, spec: ImageSpec, log: Logger) => {
        const target = await resolveTarget(kube, obj.metadata.namespace, spec);
        await checkTargetEndpoints(deps.urlPolicy, target);
        const glance = await connector.connect(target);
        const pass: ImagePass = {
          deps,
          obj,
          spec,
          status: { ...obj.status },
          glance,
          contentHash: contentHashOf(spec),
          log,
        };
        return new ImageActuator(pass, () => connector.forget(target));
      },
      openFailed: (obj, err, log) => reportFailure(deps, obj, { ...obj.status }, err, log),
      release: (obj) => {
        deps.transfers.cancel(obj.metadata.uid);
        deps.notBefore.delete(obj.metadata.uid);
      },
      delete: (obj, log) => deleteImages(deps, connector, obj, log),
    };
    this.reconcile = reconcileResource(kube, handler);
  }
}
