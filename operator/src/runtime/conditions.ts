/**
 * Status conditions as kstatus reads them (sigs.k8s.io/cli-utils/pkg/kstatus): `Ready` summarises, the
 * "abnormal-true" `Reconciling` and `Stalled` are present only while true, and every condition carries the
 * generation it describes. lastTransitionTime moves only when a condition's status changes.
 */
export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration: number;
  lastTransitionTime: string;
}

export type ConditionUpdate = Pick<Condition, 'type' | 'status' | 'reason' | 'message'>;

export const READY = 'Ready';
export const RECONCILING = 'Reconciling';
export const STALLED = 'Stalled';

/** metav1.Time keeps whole seconds; writing milliseconds would read back different and look like a change. */
export function kubeTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

export function findCondition(conditions: readonly Condition[], type: string): Condition | undefined {
  return conditions.find((c) => c.type === type);
}

/** The condition `update` describes, keeping the previous transition time when its status did not change. */
export function nextCondition(
  previous: readonly Condition[],
  update: ConditionUpdate,
  generation: number,
  now: Date,
): Condition {
  const old = findCondition(previous, update.type);
  return {
    ...update,
    observedGeneration: generation,
    lastTransitionTime: old && old.status === update.status ? old.lastTransitionTime : kubeTime(now),
  };
}

export interface Summary {
  /** Set when the object cannot progress without a person: bad spec, bad credentials. */
  stalled?: { reason: string; message: string };
  /** Set when the object waits on something outside its steps (while deleted, say): not trouble, progress. */
  waiting?: { reason: string; message: string } | undefined;
  /** Each step's condition, in the order the steps run. */
  steps: readonly ConditionUpdate[];
}

/**
 * The full condition list: Ready first, then Reconciling or Stalled when true, then each step. Ready is true
 * only when every step is; otherwise it carries the first unready step's reason so that a person sees what
 * is being waited on.
 */
export function summarize(
  previous: readonly Condition[],
  summary: Summary,
  generation: number,
  now: Date,
): Condition[] {
  const next = (u: ConditionUpdate) => nextCondition(previous, u, generation, now);
  const out: Condition[] = [];
  const blocking = summary.steps.find((s) => s.status !== 'True');
  if (summary.stalled) {
    out.push(next({ type: READY, status: 'False', ...summary.stalled }));
    out.push(next({ type: STALLED, status: 'True', ...summary.stalled }));
  } else if (summary.waiting) {
    out.push(next({ type: READY, status: 'False', ...summary.waiting }));
    out.push(next({ type: RECONCILING, status: 'True', ...summary.waiting }));
  } else if (blocking) {
    const why = { reason: blocking.reason, message: `${blocking.type}: ${blocking.message}` };
    out.push(next({ type: READY, status: 'False', ...why }));
    out.push(next({ type: RECONCILING, status: 'True', ...why }));
  } else {
    out.push(next({ type: READY, status: 'True', reason: 'Ready', message: 'Every step is ready.' }));
  }
  for (const step of summary.steps) out.push(next(step));
  return out;
}

/** Conditions whose status or reason differ between two lists: what deserves an Event. */
export function changedConditions(before: readonly Condition[], after: readonly Condition[]): Condition[] {
  return after.filter((c) => {
    const old = findCondition(before, c.type);
    return !old || old.status !== c.status || old.reason !== c.reason;
  });
}

/** Where an object without steps stands: ready, progressing, or stalled until a person acts. */
export interface Outcome {
  ready: boolean;
  stalled?: boolean;
  reason: string;
  message: string;
}

/**
 * The condition list of an object without steps: Ready, and while it is not, Stalled or Reconciling, all with
 * the outcome's reason and message.
 */
export function outcomeConditions(
  previous: readonly Condition[],
  outcome: Outcome,
  generation: number,
  now: Date,
): Condition[] {
  const { reason, message } = outcome;
  const next = (type: string, status: 'True' | 'False') =>
    nextCondition(previous, { type, status, reason, message }, generation, now);
  if (outcome.ready) return [next(READY, 'True')];
  return [next(READY, 'False'), next(outcome.stalled ? STALLED : RECONCILING, 'True')];
}
