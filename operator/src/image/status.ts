import type { Logger } from 'pino';
import { IMAGE, type ImageObject, type ImagePhase, type ImageStatus } from '../api/image-types.js';
import { outcomeConditions, STALLED, type Condition } from '../runtime/conditions.js';
import type { ReconcileResult } from '../runtime/controller.js';
import { errorMessage, TerminalError } from '../runtime/errors.js';
import type { KubeClient } from '../runtime/kube-client.js';
import { writeStatus } from '../runtime/status-writer.js';
import type { GlanceImage } from './glance-images.js';
import type { TransferProgress } from './transfer-pipeline.js';

/** Where the Image stands after a pass: its phase, and the reason and message of its conditions. */
export interface Outcome {
  phase: ImagePhase;
  reason: string;
  message: string;
  /** Only a person can move it on (or a new spec). */
  stalled?: boolean;
}

/** Every outcome an Image can have, named. */
export const outcomes = {
  invalidSpec: (message: string): Outcome => ({
    phase: 'Failed',
    reason: 'InvalidSpec',
    message,
    stalled: true,
  }),
  /** A failure retrying will not cure. */
  stalled: (reason: string, message: string): Outcome => ({
    phase: 'Failed',
    reason,
    message,
    stalled: true,
  }),
  /** A failure outside the transfer, retried with backoff: a Ready image stays Ready meanwhile. */
  unavailable: (status: ImageStatus, message: string): Outcome => ({
    phase: status.phase === 'Ready' ? 'Ready' : 'Retrying',
    reason: 'Unavailable',
    message,
  }),
  adoptionFailed: (message: string): Outcome => ({
    phase: 'Failed',
    reason: 'AdoptionFailed',
    message,
    stalled: true,
  }),
  creating: (replacement: boolean): Outcome => ({
    phase: 'Pending',
    reason: 'Creating',
    message: replacement ? 'creating the replacement image' : 'creating the image',
  }),
  ready: (image: GlanceImage): Outcome => ({
    phase: 'Ready',
    reason: 'Active',
    message: `image ${image.id} is ${image.status} (${image.size ?? 0} bytes)`,
  }),
  transferStarted: (attempt: number): Outcome => ({
    phase: 'Waiting',
    reason: 'TransferStarted',
    message: `transfer ${attempt} started`,
  }),
  waitingForSlot: (): Outcome => ({
    phase: 'Waiting',
    reason: 'WaitingForSlot',
    message: 'waiting for a transfer slot',
  }),
  uploading: (p: TransferProgress): Outcome => ({
    phase: 'Uploading',
    reason: 'Uploading',
    message: `${p.bytes}${p.total ? ` of ${p.total}` : ''} bytes${p.resumes ? `, resumed ${p.resumes} time(s)` : ''}`,
  }),
  /** The transfer failed and will be tried again. */
  transferFailed: (message: string): Outcome => ({ phase: 'Retrying', reason: 'TransferFailed', message }),
  /** The transfer failed for good with this content; the Stalled reason it got then is kept. */
  failedForGood: (obj: ImageObject, status: ImageStatus): Outcome => ({
    phase: 'Failed',
    reason: obj.status?.conditions?.find((c) => c.type === STALLED)?.reason ?? 'TransferFailed',
    message: status.lastError ?? 'the transfer failed',
    stalled: true,
  }),
  importing: (): Outcome => ({
    phase: 'Importing',
    reason: 'Importing',
    message: 'Glance is fetching the source (web-download)',
  }),
  /** Someone else writes the data, or Glance has not yet noticed that an earlier upload died. */
  glanceBusy: (image: GlanceImage): Outcome => ({
    phase: 'Uploading',
    reason: 'GlanceBusy',
    message: `image ${image.id} is ${image.status}; waiting`,
  }),
  deleting: (message: string, blocked: boolean): Outcome => ({
    phase: 'Deleting',
    reason: blocked ? 'CleanupBlocked' : 'Deleting',
    message: `${message}${blocked ? ' (set deletionPolicy: Orphan to let go of the image)' : ''}`,
    stalled: blocked,
  }),
};

/** The reason a person reads in the Stalled condition, for a failure retrying will not cure. */
export function terminalReason(err: unknown): string | undefined {
  return err instanceof TerminalError ? err.reason : undefined;
}

/** An error as status.lastError holds it. */
export function errorText(err: unknown): string {
  const text = errorMessage(err);
  return text.length > 1000 ? `${text.slice(0, 997)}...` : text;
}

/**
 * The one place an Image status is built: the fields a pass set, the outcome's phase, and kstatus conditions
 * (Ready; Reconciling or Stalled while not ready) with observedGeneration. Written only when something changed.
 */
export async function writeImageStatus(
  kube: KubeClient,
  obj: ImageObject,
  status: ImageStatus,
  outcome: Outcome,
): Promise<void> {
  const generation = obj.metadata.generation ?? 0;
  const conditions = outcomeConditions(
    (obj.status?.conditions ?? []) as Condition[],
    { ready: outcome.phase === 'Ready', ...outcome },
    generation,
    new Date(),
  );
  await writeStatus(kube, IMAGE, obj, {
    ...status,
    phase: outcome.phase,
    observedGeneration: generation,
    conditions,
  });
}

/** Reports a failure outside the transfer: terminal ones stall, others are retried with backoff (thrown). */
export async function reportFailure(
  deps: { kube: KubeClient; stalledRetryMs: number },
  obj: ImageObject,
  status: ImageStatus,
  err: unknown,
  log: Logger,
): Promise<ReconcileResult> {
  const reason = terminalReason(err);
  status.lastError = errorText(err);
  if (reason) {
    await writeImageStatus(deps.kube, obj, status, outcomes.stalled(reason, status.lastError));
    return { requeueAfterMs: deps.stalledRetryMs };
  }
  await writeImageStatus(deps.kube, obj, status, outcomes.unavailable(status, status.lastError));
  log.debug({ err: status.lastError }, 'image reconcile will be retried');
  throw err;
}
