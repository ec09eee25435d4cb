import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { ImageObject, ImageSpec, ImageStatus } from '../api/image-types.js';
import type { ObjectKey } from '../runtime/controller.js';
import { eventTarget, type EventRecorder, type EventType } from '../runtime/events.js';
import type { UrlPolicy } from '../net/url-policy.js';
import type { KubeClient } from '../runtime/kube-client.js';
import type { GlanceImagesApi } from './glance-images.js';
import type { TransferRunner } from './transfer-pipeline.js';
import type { TransferManager } from './transfer-manager.js';

/** What every Image reconcile shares: clients, the transfers in flight, timings. */
export interface ImageDeps {
  kube: KubeClient;
  events: EventRecorder;
  transfers: TransferManager;
  /** Where sources, checksum files, proxies, Keystone and Glance may be reached (the operator's settings). */
  urlPolicy: UrlPolicy;
  /** Streams a source into Glance; the real one reads the URL, tests hand in another. */
  runTransfer: TransferRunner;
  /** Drift in Glance has no watch: a Ready image is re-read this often. */
  resyncMs: number;
  /** A Stalled image whose failure was not in the transfer (credentials, Secrets) is retried this often. */
  stalledRetryMs: number;
  deletionTimeoutMs: number;
  /** How often the status shows a running transfer's progress. */
  progressMs: number;
  /** First delay before a failed transfer is tried again; doubled each attempt up to 5 minutes. */
  retryBaseMs: number;
  /** Asks for a reconcile of the object soon (a transfer ended). */
  enqueue: (key: ObjectKey) => void;
  /** When a failed transfer may be tried again, by object uid. */
  notBefore: Map<string, number>;
}

/** One reconcile of one Image: the object, its parsed spec, the status being built and the Glance it targets. */
export interface ImagePass {
  deps: ImageDeps;
  obj: ImageObject;
  spec: ImageSpec;
  /** The status this pass builds, from the one read; written with an outcome (status.ts). */
  status: ImageStatus;
  glance: GlanceImagesApi;
  /** What identifies the declared data (contentHashOf). */
  contentHash: string;
  log: Logger;
}

/** What identifies the data: a change of any of these needs a new upload. */
export function contentHashOf(spec: ImageSpec): string {
  const s = spec.source;
  const identity = [s.url, s.checksum, s.checksumURL, s.decompress, spec.diskFormat, spec.containerFormat];
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 16);
}

/** Records an Event on the Image. */
export function imageEvent(
  deps: Pick<ImageDeps, 'events'>,
  obj: ImageObject,
  type: EventType,
  reason: string,
  note: string,
  action = 'Reconcile',
): Promise<void> {
  return deps.events.record(eventTarget(obj), type, reason, note, action);
}

/** Records an Event on the Image of this pass. */
export function notify(pass: ImagePass, type: EventType, reason: string, note: string): Promise<void> {
  return imageEvent(pass.deps, pass.obj, type, reason, note);
}
