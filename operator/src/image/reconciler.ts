import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import {
  canWebDownload,
  IMAGE,
  parseImageSpec,
  type ImageObject,
  type ImagePhase,
  type ImageSpec,
  type ImageStatus,
} from '../api/image-types.js';
import { nextCondition, READY, RECONCILING, STALLED, type Condition } from '../runtime/conditions.js';
import type { ObjectKey, Reconcile, ReconcileResult } from '../runtime/controller.js';
import { errorMessage, TerminalError } from '../runtime/errors.js';
import { eventTarget, type EventRecorder, type EventType } from '../runtime/events.js';
import { addFinalizer, hasFinalizer, removeFinalizer } from '../runtime/finalizers.js';
import type { KubeClient } from '../runtime/kube-client.js';
import type { OperatorMetrics } from '../runtime/operator-metrics.js';
import { isSubset } from '../runtime/subset.js';
import {
  fileNameOf,
  findInChecksumFile,
  parseChecksum,
  recordedDigest,
  storedDifferently,
  type ExpectedDigest,
} from './checksum.js';
import { createBody, describePatch, driftPatch } from './drift.js';
import { GlanceError, GlanceImages, GlanceRefusedError, type GlanceImage } from './glance-images.js';
import { openSource, type SourceAccess } from './http-source.js';
import { IMAGE_FINALIZER, RETRY_ANNOTATION } from './names.js';
import { resolveSourceAccess, resolveTarget, SessionCache, type GlanceTarget } from './target.js';
import { transfer, type TransferPlan } from './transfer-pipeline.js';
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
  /** How often the status shows a running transfer's progress. */
  progressMs: number;
  /** First delay before a failed transfer is tried again; doubled each attempt up to 5 minutes. */
  retryBaseMs: number;
  /** Asks for a reconcile of the object soon (a transfer ended). */
  enqueue: (key: ObjectKey) => void;
}

/** Statuses in which an image has no usable data and never will. */
const GONE = new Set(['deleted', 'pending_delete', 'killed']);
/** Statuses in which someone is writing the data. */
const BUSY = new Set(['saving', 'importing', 'uploading']);
const MAX_CHECKSUM_FILE = 1024 * 1024;

/** What identifies the data: a change of any of these needs a new upload. */
function contentHashOf(spec: ImageSpec): string {
  const s = spec.source;
  const identity = [s.url, s.checksum, s.checksumURL, s.decompress, spec.diskFormat, spec.containerFormat];
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 16);
}

async function fetchChecksumFile(
  url: string,
  access: SourceAccess,
  sourceUrl: string,
): Promise<ExpectedDigest> {
  const { res } = await openSource(url, access, {}, AbortSignal.timeout(60_000));
  let text = '';
  for await (const chunk of res) {
    text += String(chunk);
    if (text.length > MAX_CHECKSUM_FILE) {
      res.destroy();
      throw new TerminalError('ChecksumFileTooLarge', 'the checksum file is larger than 1 MiB');
    }
  }
  const name = fileNameOf(sourceUrl);
  const found = findInChecksumFile(text, name);
  if (!found) throw new TerminalError('ChecksumNotFound', `the checksum file lists no digest for ${name}`);
  return found;
}

/** The reason a person reads in the Stalled condition, for a failure retrying will not cure. */
const terminalReason = (err: unknown) => (err instanceof TerminalError ? err.reason : undefined);

function errorText(err: unknown): string {
  const text = errorMessage(err);
  return text.length > 1000 ? `${text.slice(0, 997)}...` : text;
}

type Outcome = { phase: ImagePhase; reason: string; message: string; stalled?: boolean };

export class ImageReconciler {
  private readonly sessions = new SessionCache();
  /** When a failed transfer may be tried again, by object uid. */
  private readonly notBefore = new Map<string, number>();

  constructor(private readonly opts: ImageReconcilerOptions) {}

  private glanceWrites = (operation: string) =>
    this.opts.metrics.writes.inc({ system: 'glance', operation, kind: 'Image' });

  readonly reconcile: Reconcile = async (key: ObjectKey, log: Logger): Promise<ReconcileResult> => {
    const { kube } = this.opts;
    const obj = await kube.getCustom<ImageObject>(IMAGE, key.namespace, key.name);
    if (!obj) return {};
    if (obj.metadata.deletionTimestamp) return this.finalize(obj, log);

    const parsed = parseImageSpec(obj.spec);
    if ('error' in parsed) {
      await this.writeStatus(
        obj,
        { ...obj.status },
        {
          phase: 'Failed',
          reason: 'InvalidSpec',
          message: parsed.error,
          stalled: true,
        },
      );
      return {};
    }
    const { spec } = parsed;
    const status: ImageStatus = { ...obj.status };
    let glance: GlanceImages;
    let target: GlanceTarget;
    try {
      target = await resolveTarget(kube, obj.metadata.namespace, spec);
      glance = new GlanceImages(await this.sessions.get(target), this.glanceWrites);
    } catch (err) {
      return this.failed(obj, status, err, log);
    }
    try {
      const current = (await addFinalizer(kube, IMAGE, obj, IMAGE_FINALIZER)) as ImageObject;
      return await this.converge(current, spec, status, glance, log);
    } catch (err) {
      if (err instanceof GlanceError && err.status === 401) this.sessions.drop(target);
      return this.failed(obj, status, err, log);
    }
  };

  /** Reports a failure outside the transfer: terminal ones stall, others are retried with backoff. */
  private async failed(obj: ImageObject, status: ImageStatus, err: unknown, log: Logger) {
    const reason = terminalReason(err);
    status.lastError = errorText(err);
    if (reason) {
      await this.writeStatus(obj, status, {
        phase: 'Failed',
        reason,
        message: status.lastError,
        stalled: true,
      });
      return { requeueAfterMs: this.opts.stalledRetryMs };
    }
    await this.writeStatus(obj, status, {
      phase: status.phase === 'Ready' ? 'Ready' : 'Retrying',
      reason: 'Unavailable',
      message: status.lastError,
    });
    log.debug({ err: status.lastError }, 'image reconcile will be retried');
    throw err;
  }

  private async converge(
    obj: ImageObject,
    spec: ImageSpec,
    status: ImageStatus,
    glance: GlanceImages,
    log: Logger,
  ): Promise<ReconcileResult> {
    const uid = obj.metadata.uid;
    const contentHash = contentHashOf(spec);
    const name = obj.metadata.name;

    let image = status.imageID ? await this.find(glance, status.imageID) : undefined;
    if (!image && status.pendingImageID) {
      // The served image went away during a replacement: the replacement is the image from now on.
      status.imageID = status.pendingImageID;
      status.pendingImageID = undefined;
      status.contentHash = undefined;
      image = await this.find(glance, status.imageID);
    }

    if (!image && !status.imageID && spec.adopt) {
      image = await this.adopt(obj, spec, status, glance);
      if (!image) {
        const message = spec.adopt.imageID
          ? `image ${spec.adopt.imageID} to adopt does not exist`
          : `no single image named ${spec.name ?? name} to adopt`;
        await this.writeStatus(obj, status, {
          phase: 'Failed',
          reason: 'AdoptionFailed',
          message,
          stalled: true,
        });
        return { requeueAfterMs: this.opts.stalledRetryMs };
      }
    }

    if (!image) {
      if (status.imageID) {
        await this.event(
          obj,
          'Warning',
          'ImageMissing',
          `Image ${status.imageID} is gone from Glance; uploading again`,
        );
      }
      this.opts.transfers.cancel(uid);
      image = await this.create(obj, spec, status, glance, 'imageID');
      log.info({ imageID: image.id }, 'created the Glance image');
    }
    image = await this.repairDrift(obj, spec, image, glance, !!status.contentHash);

    // The source changed under an image that has data. The image keeps being served (status.imageID) while a
    // replacement is uploaded; the replacement takes its place only once active.
    const replacing = !!status.contentHash && status.contentHash !== contentHash && image.status !== 'queued';
    if (!replacing && status.pendingImageID) {
      // The source went back to what is served: the unfinished replacement was never used.
      this.opts.transfers.cancel(uid);
      await this.deleteImage(glance, status.pendingImageID);
      status.pendingImageID = undefined;
    }
    if (replacing) {
      let next = status.pendingImageID ? await this.find(glance, status.pendingImageID) : undefined;
      if (!next) {
        if (!status.pendingImageID) {
          await this.event(
            obj,
            'Normal',
            'SourceChanged',
            `The source changed; uploading a replacement for image ${image.id}`,
          );
        }
        this.opts.transfers.cancel(uid);
        next = await this.create(obj, spec, status, glance, 'pendingImageID');
        log.info({ imageID: next.id, replaces: image.id }, 'created the replacement Glance image');
      }
      image = await this.repairDrift(obj, spec, next, glance, false);
    }

    if (image.status === 'active' || image.status === 'deactivated') {
      return this.active(obj, spec, status, image, contentHash, glance);
    }
    return this.data(obj, spec, status, image, contentHash, glance, log);
  }

  /** The image, if it exists and can hold data; a killed one is removed (it never will). */
  private async find(glance: GlanceImages, id: string): Promise<GlanceImage | undefined> {
    const image = await glance.get(id);
    if (image?.status === 'killed') {
      await glance.remove(image.id);
      return undefined;
    }
    return image && !GONE.has(image.status) ? image : undefined;
  }

  private async repairDrift(
    obj: ImageObject,
    spec: ImageSpec,
    image: GlanceImage,
    glance: GlanceImages,
    announce: boolean,
  ): Promise<GlanceImage> {
    const ops = driftPatch(image, spec, obj.metadata.name);
    if (!ops.length) return image;
    const patched = await glance.patch(image.id, ops);
    if (announce) {
      await this.event(
        obj,
        'Normal',
        'DriftRepaired',
        `Put back what changed in Glance: ${describePatch(ops)}`,
      );
    }
    return patched;
  }

  private async adopt(
    obj: ImageObject,
    spec: ImageSpec,
    status: ImageStatus,
    glance: GlanceImages,
  ): Promise<GlanceImage | undefined> {
    const adopt = spec.adopt;
    let found: GlanceImage | undefined;
    if (adopt?.imageID) found = await glance.get(adopt.imageID);
    else {
      const named = await glance.findByName(spec.name ?? obj.metadata.name);
      found = named.length === 1 ? named[0] : undefined;
    }
    if (!found || GONE.has(found.status)) return undefined;
    status.imageID = found.id;
    // An adopted image with data is taken as the declared content; a checksum Glance can compare is checked.
    if (found.status === 'active') {
      const expected = spec.source.checksum ? parseChecksum(spec.source.checksum) : undefined;
      const glanceHex = expected ? recordedDigest(found, expected) : null;
      if (expected && glanceHex && glanceHex !== expected.hex) {
        throw new TerminalError(
          'AdoptedImageMismatch',
          `image ${found.id} has ${expected.algorithm} ${glanceHex}, not the declared checksum`,
        );
      }
      status.contentHash = contentHashOf(spec);
    }
    await this.event(obj, 'Normal', 'Adopted', `Adopted existing image ${found.id}`);
    return found;
  }

  /**
   * Creates the image (or the replacement, `slot`) under an id recorded in the status first, so that a crash
   * between the two finds the image again instead of making a second one. Glance never reuses an id (409): a
   * fresh one is drawn.
   */
  private async create(
    obj: ImageObject,
    spec: ImageSpec,
    status: ImageStatus,
    glance: GlanceImages,
    slot: 'imageID' | 'pendingImageID',
  ): Promise<GlanceImage> {
    for (let tries = 0; tries < 2; tries++) {
      let id = status[slot];
      if (!id || tries > 0) {
        id = randomUUID();
        status[slot] = id;
        // The content hash describes the served image's data, which a replacement does not change.
        if (slot === 'imageID') status.contentHash = undefined;
        Object.assign(status, { attempts: 0, progress: undefined, method: undefined, failedFor: undefined });
        await this.writeStatus(obj, status, {
          phase: 'Pending',
          reason: 'Creating',
          message: slot === 'imageID' ? 'creating the image' : 'creating the replacement image',
        });
      }
      const created = await glance.create(createBody(id, spec, obj.metadata.name));
      if (created) {
        await this.event(obj, 'Normal', 'Created', `Created image ${created.id} in ${glance.url}`);
        return created;
      }
    }
    throw new Error('Glance refused two fresh image ids with 409');
  }

  private async active(
    obj: ImageObject,
    spec: ImageSpec,
    status: ImageStatus,
    image: GlanceImage,
    contentHash: string,
    glance: GlanceImages,
  ): Promise<ReconcileResult> {
    const uid = obj.metadata.uid;
    const t = this.opts.transfers.get(uid);
    if (t && t.state.kind === 'done') {
      const { uploaded, sourceDigest } = t.state.result;
      this.opts.transfers.forget(uid);
      // The transfer may end between two progress updates: what it read is the final count.
      status.progress = { bytes: t.progress.bytes, ...(t.progress.total ? { total: t.progress.total } : {}) };
      const differs = storedDifferently(image, uploaded);
      if (differs) {
        // Not what was sent: throw it away and start over.
        await glance.remove(image.id);
        throw new Error(differs);
      }
      if (sourceDigest) status.sourceDigest = sourceDigest;
      await this.event(obj, 'Normal', 'Uploaded', `Uploaded ${uploaded.bytes} bytes into image ${image.id}`);
    } else if (status.contentHash !== contentHash && status.method === 'web-download') {
      await this.event(obj, 'Normal', 'Imported', `Glance imported image ${image.id} (web-download)`);
    }
    if (status.pendingImageID === image.id) {
      const replaced = status.imageID;
      status.imageID = image.id;
      status.pendingImageID = undefined;
      if (replaced) {
        const keep = spec.deletionPolicy === 'Orphan';
        if (!keep) status.retiredImageID = replaced;
        await this.event(
          obj,
          'Normal',
          'Replaced',
          `Image ${image.id} replaces ${replaced}${keep ? ', which stays in Glance (deletionPolicy Orphan)' : ''}`,
        );
      }
    }
    status.contentHash = contentHash;
    status.failedFor = undefined;
    status.lastError = undefined;
    Object.assign(status, {
      size: image.size ?? undefined,
      virtualSize: image.virtual_size ?? undefined,
      checksum: image.checksum ?? undefined,
      osHashAlgo: image.os_hash_algo ?? undefined,
      osHashValue: image.os_hash_value ?? undefined,
    });
    if (status.progress) {
      const total = status.progress.total ?? status.progress.bytes;
      status.progress = { bytes: total, total, percent: 100 };
    }
    const ready: Outcome = {
      phase: 'Ready',
      reason: 'Active',
      message: `image ${image.id} is ${image.status} (${image.size ?? 0} bytes)`,
    };
    await this.writeStatus(obj, status, ready);
    if (status.retiredImageID) {
      // Only once the status names its replacement: until then the replaced image is the one users get.
      const retired = status.retiredImageID;
      if (spec.deletionPolicy === 'Delete' && (await this.deleteImage(glance, retired))) {
        await this.event(obj, 'Normal', 'Retired', `Deleted image ${retired}, replaced by ${image.id}`);
      }
      status.retiredImageID = undefined;
      await this.writeStatus(obj, status, ready);
    }
    return { requeueAfterMs: this.opts.resyncMs };
  }

  /** The image has no data yet: run, watch or collect its transfer. */
  private async data(
    obj: ImageObject,
    spec: ImageSpec,
    status: ImageStatus,
    image: GlanceImage,
    contentHash: string,
    glance: GlanceImages,
    log: Logger,
  ): Promise<ReconcileResult> {
    const uid = obj.metadata.uid;
    const transfers = this.opts.transfers;
    const targetKey = `${image.id}/${contentHash}`;
    const failedFor = `${contentHash}/${obj.metadata.annotations?.[RETRY_ANNOTATION] ?? ''}`;
    let t = transfers.get(uid);
    if (t && t.target !== targetKey) {
      transfers.cancel(uid);
      t = undefined;
    }

    if (t?.state.kind === 'failed') {
      const error = t.state.error;
      transfers.forget(uid);
      const reason = terminalReason(error);
      status.lastError = errorText(error);
      if (reason) {
        status.failedFor = failedFor;
        await this.event(obj, 'Warning', reason, status.lastError);
        await this.writeStatus(obj, status, {
          phase: 'Failed',
          reason,
          message: status.lastError,
          stalled: true,
        });
        return {};
      }
      const delay = Math.min(this.opts.retryBaseMs * 2 ** ((status.attempts ?? 1) - 1), 300_000);
      this.notBefore.set(uid, Date.now() + delay);
      await this.event(
        obj,
        'Warning',
        'TransferFailed',
        `${status.lastError}; retrying in ${Math.round(delay / 1000)} s`,
      );
      await this.writeStatus(obj, status, {
        phase: 'Retrying',
        reason: 'TransferFailed',
        message: status.lastError,
      });
      return { requeueAfterMs: delay };
    }
    if (t) {
      const p = t.progress;
      const percent = p.total ? Math.min(100, Math.floor((p.bytes * 100) / p.total)) : undefined;
      status.progress = {
        bytes: p.bytes,
        ...(p.total !== undefined ? { total: p.total } : {}),
        ...(percent !== undefined ? { percent } : {}),
      };
      const waiting = t.state.kind === 'waiting';
      await this.writeStatus(obj, status, {
        phase: waiting ? 'Waiting' : 'Uploading',
        reason: waiting ? 'WaitingForSlot' : 'Uploading',
        message: waiting
          ? 'waiting for a transfer slot'
          : `${p.bytes}${p.total ? ` of ${p.total}` : ''} bytes${p.resumes ? `, resumed ${p.resumes} time(s)` : ''}`,
      });
      return { requeueAfterMs: this.opts.progressMs };
    }

    if (image.status === 'importing') {
      await this.writeStatus(obj, status, {
        phase: 'Importing',
        reason: 'Importing',
        message: 'Glance is fetching the source (web-download)',
      });
      return { requeueAfterMs: this.opts.progressMs };
    }
    if (BUSY.has(image.status)) {
      // Someone else writes, or Glance has not yet noticed that an upload of a previous operator process died.
      await this.writeStatus(obj, status, {
        phase: 'Uploading',
        reason: 'GlanceBusy',
        message: `image ${image.id} is ${image.status}; waiting`,
      });
      return { requeueAfterMs: this.opts.progressMs * 2 };
    }

    // Queued, nothing running.
    if (status.failedFor === failedFor) {
      // Failed for good with this content: only a new source or the retry annotation tries again.
      const stalled = obj.status?.conditions?.find((c) => c.type === STALLED);
      await this.writeStatus(obj, status, {
        phase: 'Failed',
        reason: stalled?.reason ?? 'TransferFailed',
        message: status.lastError ?? 'the transfer failed',
        stalled: true,
      });
      return {};
    }
    if (status.method === 'web-download' && status.phase === 'Importing') {
      // The import ended without data: Glance could not fetch the source. Stream it ourselves instead.
      status.lastError = `web-download failed${failedImportNote(image)}; uploading through the operator`;
      status.method = 'upload';
      await this.event(obj, 'Warning', 'WebDownloadFailed', status.lastError);
    }
    const wait = (this.notBefore.get(uid) ?? 0) - Date.now();
    if (wait > 0) return { requeueAfterMs: wait };
    this.notBefore.delete(uid);

    status.attempts = (status.attempts ?? 0) + 1;
    if (
      status.method !== 'upload' &&
      spec.source.importMethod !== 'Upload' &&
      canWebDownload(spec) &&
      (spec.source.importMethod === 'WebDownload' || (await glance.importMethods()).includes('web-download'))
    ) {
      status.method = 'web-download';
      try {
        await glance.webDownload(image.id, spec.source.url);
        await this.writeStatus(obj, status, {
          phase: 'Importing',
          reason: 'Importing',
          message: 'Glance is fetching the source (web-download)',
        });
        return { requeueAfterMs: this.opts.progressMs };
      } catch (err) {
        // Whether Glance may fetch the URL ([import_filtering_opts]) shows only when asked; Auto then streams.
        if (!(
          err instanceof GlanceRefusedError &&
          err.status === 400 &&
          spec.source.importMethod === 'Auto'
        )) {
          throw err;
        }
        status.lastError = `web-download refused: ${errorText(err)}; uploading through the operator`;
        await this.event(obj, 'Warning', 'WebDownloadRefused', status.lastError);
      }
    }

    status.method = 'upload';
    status.progress = { bytes: 0 };
    const access = await resolveSourceAccess(this.opts.kube, obj.metadata.namespace, spec.source);
    const { checksum, checksumURL } = spec.source;
    const { namespace } = obj.metadata;
    const settled = () => this.opts.enqueue({ namespace, name: obj.metadata.name });
    transfers.start(
      uid,
      targetKey,
      async (progress, signal) => {
        const plan: TransferPlan = {
          url: spec.source.url,
          access,
          decompress: spec.source.decompress,
          diskFormat: spec.diskFormat,
          retries: spec.source.retries,
          retryBaseMs: Math.min(this.opts.retryBaseMs, 1000),
        };
        if (checksum) plan.expected = parseChecksum(checksum);
        else if (checksumURL) plan.expected = await fetchChecksumFile(checksumURL, access, spec.source.url);
        return transfer(plan, (data, s) => glance.upload(image.id, data, s), progress, signal);
      },
      settled,
    );
    log.info({ imageID: image.id, attempt: status.attempts }, 'transfer started');
    await this.writeStatus(obj, status, {
      phase: 'Waiting',
      reason: 'TransferStarted',
      message: `transfer ${status.attempts} started`,
    });
    return { requeueAfterMs: this.opts.progressMs };
  }

  private async deleteImage(glance: GlanceImages, id: string): Promise<boolean> {
    const image = await glance.get(id);
    if (!image) return false;
    if (image.protected) await glance.patch(id, [{ op: 'replace', path: '/protected', value: false }]);
    return glance.remove(id);
  }

  /** deletionPolicy Delete removes the Glance image(s); Orphan leaves them. The finalizer goes last. */
  private async finalize(obj: ImageObject, log: Logger): Promise<ReconcileResult> {
    this.opts.transfers.cancel(obj.metadata.uid);
    this.notBefore.delete(obj.metadata.uid);
    if (!hasFinalizer(obj, IMAGE_FINALIZER)) return {};
    const parsed = parseImageSpec(obj.spec);
    const status: ImageStatus = { ...obj.status };
    const ids = [status.imageID, status.pendingImageID, status.retiredImageID].filter(
      (id): id is string => !!id,
    );
    if ('spec' in parsed && parsed.spec.deletionPolicy === 'Delete' && ids.length) {
      try {
        const target = await resolveTarget(this.opts.kube, obj.metadata.namespace, parsed.spec);
        const glance = new GlanceImages(await this.sessions.get(target), this.glanceWrites);
        for (const id of ids) {
          if (await this.deleteImage(glance, id)) {
            await this.event(
              obj,
              'Normal',
              'Deleted',
              `Deleted image ${id} (deletionPolicy Delete)`,
              'Delete',
            );
          }
        }
      } catch (err) {
        const reason = terminalReason(err);
        status.lastError = errorText(err);
        await this.writeStatus(obj, status, {
          phase: 'Deleting',
          reason: reason ? 'CleanupBlocked' : 'Deleting',
          message: `${status.lastError}${reason ? ' (set deletionPolicy: Orphan to let go of the image)' : ''}`,
          stalled: !!reason,
        });
        if (reason) return { requeueAfterMs: this.opts.stalledRetryMs };
        throw err;
      }
    } else if (ids.length) {
      await this.event(
        obj,
        'Normal',
        'Orphaned',
        `Left image ${ids.join(', ')} in Glance (deletionPolicy Orphan)`,
        'Delete',
      );
    }
    await removeFinalizer(this.opts.kube, IMAGE, obj, IMAGE_FINALIZER);
    log.info({ imageIDs: ids }, 'image finalized');
    return {};
  }

  private event(obj: ImageObject, type: EventType, reason: string, note: string, action = 'Reconcile') {
    return this.opts.events.record(eventTarget(obj), type, reason, note, action);
  }

  /** kstatus conditions from the outcome; written only when something changed. */
  private async writeStatus(obj: ImageObject, status: ImageStatus, outcome: Outcome): Promise<void> {
    const previous = (obj.status?.conditions ?? []) as Condition[];
    const generation = obj.metadata.generation ?? 0;
    const now = new Date();
    const next = (type: string, s: 'True' | 'False') =>
      nextCondition(
        previous,
        { type, status: s, reason: outcome.reason, message: outcome.message },
        generation,
        now,
      );
    const conditions: Condition[] = [];
    if (outcome.phase === 'Ready') conditions.push(next(READY, 'True'));
    else {
      conditions.push(next(READY, 'False'));
      conditions.push(next(outcome.stalled ? STALLED : RECONCILING, 'True'));
    }
    const written: ImageStatus = JSON.parse(
      JSON.stringify({ ...status, phase: outcome.phase, observedGeneration: generation, conditions }),
    ) as ImageStatus;
    const old = obj.status;
    if (old && isSubset(written, old) && isSubset(old, written)) return;
    const updated = await this.opts.kube.replaceCustomStatus<ImageObject>(
      IMAGE,
      obj.metadata.namespace,
      obj.metadata.name,
      written,
    );
    // Later writes in the same pass compare against what is stored now.
    obj.status = updated.status ?? written;
    obj.metadata.resourceVersion = updated.metadata.resourceVersion;
  }
}

function failedImportNote(image: GlanceImage): string {
  const failed = image['os_glance_failed_import'];
  return typeof failed === 'string' && failed ? ` (failed stores: ${failed})` : '';
}
