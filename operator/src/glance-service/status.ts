import { GLANCE_SERVICE, type GlanceService, type GlanceServiceStatus } from '../api/glance-service-types.js';
import type { Condition, ConditionUpdate } from '../runtime/conditions.js';
import { changedConditions, READY, RECONCILING, STALLED, summarize } from '../runtime/conditions.js';
import { eventTarget, type EventRecorder } from '../runtime/events.js';
import type { KubeClient } from '../runtime/kube-client.js';
import { writeStatus } from '../runtime/status-writer.js';
import { STEPS, type StepType } from './context.js';
import type { Step } from './steps.js';

/** Reasons for a False condition that are progress, not trouble. */
const PROGRESS_REASONS = new Set(['MigrationPending', 'RollingOut']);

/** A step that did not run this time keeps what was last seen of it. */
function carryOver(previous: readonly Condition[], type: StepType): ConditionUpdate {
  const old = previous.find((c) => c.type === type);
  return old
    ? { type, status: old.status, reason: old.reason, message: old.message }
    : { type, status: 'Unknown', reason: 'NotChecked', message: 'an earlier step has not succeeded yet' };
}

export interface StatusUpdate {
  steps: Step[];
  stalled?: { reason: string; message: string } | undefined;
  /** What a deleted GlanceService waits for (Ready=False, Reconciling=True with this reason). */
  waiting?: { reason: string; message: string } | undefined;
  /** The status fields the steps found; without it the object's current ones are kept. */
  status?: GlanceServiceStatus;
}

/**
 * Writes the GlanceService's status only if it changed, with an Event for each condition that changed status
 * or reason. Steps not in `update.steps` keep their previous conditions.
 */
export async function writeGlanceStatus(
  kube: KubeClient,
  events: EventRecorder,
  gs: GlanceService,
  update: StatusUpdate,
): Promise<void> {
  const previous = (gs.status?.conditions ?? []) as Condition[];
  const generation = gs.metadata.generation ?? 0;
  const steps = STEPS.map((type) => update.steps.find((s) => s.type === type) ?? carryOver(previous, type));
  const conditions = summarize(
    previous,
    { steps, stalled: update.stalled, waiting: update.waiting },
    generation,
    new Date(),
  );
  const next: GlanceServiceStatus = {
    ...(update.status ?? gs.status),
    observedGeneration: generation,
    conditions,
  };
  if (!(await writeStatus(kube, GLANCE_SERVICE, gs, next))) return;
  for (const c of changedConditions(previous, conditions)) {
    // Ready and Reconciling only repeat a step's news.
    if (c.type === READY || c.type === RECONCILING || c.status === 'Unknown') continue;
    const normal = c.type !== STALLED && (c.status === 'True' || PROGRESS_REASONS.has(c.reason));
    await events.record(
      eventTarget(gs),
      normal ? 'Normal' : 'Warning',
      c.reason,
      `${c.type}=${c.status}: ${c.message}`,
    );
  }
}
