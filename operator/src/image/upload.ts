import { canWebDownload } from '../api/image-types.js';
import type { ReconcileResult } from '../runtime/controller.js';
import { parseChecksum, storedDifferently } from './checksum.js';
import { GlanceRefusedError, type GlanceImage } from './glance-images.js';
import { resolveSource } from './operations.js';
import { notify, type ImagePass } from './pass.js';
import { RETRY_ANNOTATION } from './names.js';
import { errorText, outcomes, terminalReason, writeImageStatus } from './status.js';
import type { SourceAccess } from './http-source.js';
import type { TransferPlan } from './transfer-pipeline.js';
import type { Transfer } from './transfer-manager.js';

/** Statuses in which someone is writing the data. */
const BUSY = new Set(['saving', 'importing', 'uploading']);

/** What a transfer is for: another image or content cancels it. */
const transferTarget = (pass: ImagePass, image: GlanceImage) => `${image.id}/${pass.contentHash}`;

/** What a failure for good is tied to: only a new source or a changed retry annotation tries again. */
const failureKey = (pass: ImagePass) =>
  `${pass.contentHash}/${pass.obj.metadata.annotations?.[RETRY_ANNOTATION] ?? ''}`;

/**
 * The image has its data: takes in the outcome of the transfer that wrote it, which must be what Glance
 * stored, else the image is deleted and the error thrown to start over.
 */
export async function completeUpload(pass: ImagePass, image: GlanceImage): Promise<void> {
  const { status, deps } = pass;
  const uid = pass.obj.metadata.uid;
  const t = deps.transfers.get(uid);
  if (t && t.state.kind === 'done') {
    const { uploaded, sourceDigest } = t.state.result;
    deps.transfers.forget(uid);
    // The transfer may end between two progress updates: what it read is the final count.
    status.progress = { bytes: t.progress.bytes, ...(t.progress.total ? { total: t.progress.total } : {}) };
    const differs = storedDifferently(image, uploaded);
    if (differs) {
      // Not what was sent: throw it away and start over.
      await pass.glance.remove(image.id);
      throw new Error(differs);
    }
    if (sourceDigest) status.sourceDigest = sourceDigest;
    await notify(pass, 'Normal', 'Uploaded', `Uploaded ${uploaded.bytes} bytes into image ${image.id}`);
  } else if (status.contentHash !== pass.contentHash && status.method === 'web-download') {
    await notify(pass, 'Normal', 'Imported', `Glance imported image ${image.id} (web-download)`);
  }
}

/** The image has no data yet: watch or collect its transfer, or start one. */
export async function uploadData(pass: ImagePass, image: GlanceImage): Promise<ReconcileResult> {
  const { transfers } = pass.deps;
  const uid = pass.obj.metadata.uid;
  let t = transfers.get(uid);
  if (t && t.target !== transferTarget(pass, image)) {
    transfers.cancel(uid);
    t = undefined;
  }
  if (t?.state.kind === 'failed') return collectFailure(pass, t.state.error);
  if (t) return reportProgress(pass, t);
  return startData(pass, image);
}

/** A transfer failed: terminal failures stall until the content or the retry annotation changes. */
async function collectFailure(pass: ImagePass, error: unknown): Promise<ReconcileResult> {
  const { status, deps } = pass;
  const uid = pass.obj.metadata.uid;
  deps.transfers.forget(uid);
  const reason = terminalReason(error);
  status.lastError = errorText(error);
  if (reason) {
    status.failedFor = failureKey(pass);
    await notify(pass, 'Warning', reason, status.lastError);
    await writeImageStatus(deps.kube, pass.obj, status, outcomes.stalled(reason, status.lastError));
    return {};
  }
  const delay = Math.min(deps.retryBaseMs * 2 ** ((status.attempts ?? 1) - 1), 300_000);
  deps.notBefore.set(uid, Date.now() + delay);
  await notify(
    pass,
    'Warning',
    'TransferFailed',
    `${status.lastError}; retrying in ${Math.round(delay / 1000)} s`,
  );
  await writeImageStatus(deps.kube, pass.obj, status, outcomes.transferFailed(status.lastError));
  return { requeueAfterMs: delay };
}

async function reportProgress(pass: ImagePass, t: Transfer): Promise<ReconcileResult> {
  const p = t.progress;
  const percent = p.total ? Math.min(100, Math.floor((p.bytes * 100) / p.total)) : undefined;
  pass.status.progress = {
    bytes: p.bytes,
    ...(p.total !== undefined ? { total: p.total } : {}),
    ...(percent !== undefined ? { percent } : {}),
  };
  const outcome = t.state.kind === 'waiting' ? outcomes.waitingForSlot() : outcomes.uploading(p);
  await writeImageStatus(pass.deps.kube, pass.obj, pass.status, outcome);
  return { requeueAfterMs: pass.deps.progressMs };
}

/** Nothing of ours runs for the image: wait for Glance, stay failed, or start a web-download or a transfer. */
async function startData(pass: ImagePass, image: GlanceImage): Promise<ReconcileResult> {
  const { status, deps, obj } = pass;
  const uid = obj.metadata.uid;
  if (image.status === 'importing') {
    await writeImageStatus(deps.kube, obj, status, outcomes.importing());
    return { requeueAfterMs: deps.progressMs };
  }
  if (BUSY.has(image.status)) {
    await writeImageStatus(deps.kube, obj, status, outcomes.glanceBusy(image));
    return { requeueAfterMs: deps.progressMs * 2 };
  }
  // Queued, nothing running.
  if (status.failedFor === failureKey(pass)) {
    await writeImageStatus(deps.kube, obj, status, outcomes.failedForGood(obj, status));
    return {};
  }
  if (status.method === 'web-download' && status.phase === 'Importing') {
    // The import ended without data: Glance could not fetch the source. Stream it ourselves instead.
    status.lastError = `web-download failed${failedImportNote(image)}; uploading through the operator`;
    status.method = 'upload';
    await notify(pass, 'Warning', 'WebDownloadFailed', status.lastError);
  }
  const wait = (deps.notBefore.get(uid) ?? 0) - Date.now();
  if (wait > 0) return { requeueAfterMs: wait };
  deps.notBefore.delete(uid);
  const access = await resolveSource(pass);

  status.attempts = (status.attempts ?? 0) + 1;
  if (await shouldWebDownload(pass)) {
    status.method = 'web-download';
    try {
      await pass.glance.webDownload(image.id, pass.spec.source.url);
      await writeImageStatus(deps.kube, obj, status, outcomes.importing());
      return { requeueAfterMs: deps.progressMs };
    } catch (err) {
      // Whether Glance may fetch the URL ([import_filtering_opts]) shows only when asked; Auto then streams.
      if (!(
        err instanceof GlanceRefusedError &&
        err.status === 400 &&
        pass.spec.source.importMethod === 'Auto'
      )) {
        throw err;
      }
      status.lastError = `web-download refused: ${errorText(err)}; uploading through the operator`;
      await notify(pass, 'Warning', 'WebDownloadRefused', status.lastError);
    }
  }
  await startTransfer(pass, image, access);
  await writeImageStatus(deps.kube, obj, status, outcomes.transferStarted(status.attempts));
  return { requeueAfterMs: deps.progressMs };
}

async function shouldWebDownload(pass: ImagePass): Promise<boolean> {
  const { spec } = pass;
  return (
    pass.status.method !== 'upload' &&
    spec.source.importMethod !== 'Upload' &&
    canWebDownload(spec) &&
    (spec.source.importMethod === 'WebDownload' ||
      (await pass.glance.importMethods()).includes('web-download'))
  );
}

/** Starts streaming the source into the image beside the reconciles; its end asks for a reconcile. */
async function startTransfer(pass: ImagePass, image: GlanceImage, access: SourceAccess): Promise<void> {
  const { status, deps, obj, spec } = pass;
  status.method = 'upload';
  status.progress = { bytes: 0 };
  const { checksum, checksumURL } = spec.source;
  const { namespace, name } = obj.metadata;
  deps.transfers.start(
    obj.metadata.uid,
    transferTarget(pass, image),
    async (progress, signal) => {
      const plan: TransferPlan = {
        url: spec.source.url,
        access,
        decompress: spec.source.decompress,
        diskFormat: spec.diskFormat,
        retries: spec.source.retries,
        retryBaseMs: Math.min(deps.retryBaseMs, 1000),
      };
      if (checksum) plan.expected = parseChecksum(checksum);
      return deps.runTransfer(
        { ...plan, checksumURL: checksum ? undefined : checksumURL },
        (data, s) => pass.glance.upload(image.id, data, s),
        progress,
        signal,
      );
    },
    () => deps.enqueue({ namespace, name }),
  );
  pass.log.info({ imageID: image.id, attempt: status.attempts }, 'transfer started');
}

function failedImportNote(image: GlanceImage): string {
  const failed = image['os_glance_failed_import'];
  return typeof failed === 'string' && failed ? ` (failed stores: ${failed})` : '';
}
