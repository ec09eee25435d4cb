import type { Logger } from 'pino';
import type { GlanceService, GlanceServiceSpec, GlanceServiceStatus } from '../api/glance-service-types.js';
import { eventTarget, type EventRecorder, type EventType } from '../runtime/events.js';
import type { KubeClient } from '../runtime/kube-client.js';
import type { AdminSessions } from './sessions.js';

/** The condition types of the five steps, in the order they run. */
export const STEPS = [
  'DatabaseReady',
  'KeystoneReady',
  'CephReady',
  'ConfigReady',
  'DeploymentReady',
] as const;
export type StepType = (typeof STEPS)[number];

/**
 * What one step found, as its condition. A step that only a person can move on throws a TerminalError
 * instead; any other error it throws is taken as transient.
 */
export interface StepCondition {
  status: 'True' | 'False';
  reason: string;
  message: string;
}

export interface Passwords {
  database: string;
  keystone: string;
}

/** Everything a step needs for one reconcile of one GlanceService. */
export interface ReconcileContext {
  gs: GlanceService;
  spec: GlanceServiceSpec;
  kube: KubeClient;
  events: EventRecorder;
  log: Logger;
  sessions: AdminSessions;
  /** The status this pass is building: steps record here what they found (service id, config hash...). */
  status: GlanceServiceStatus;
}

/** What deleting one system's part needs: its own admin session is passed beside it. */
export type CleanupContext = Omit<ReconcileContext, 'sessions' | 'status'>;

/** Records an Event on the GlanceService for a change the operator made or found. */
export function notify(
  ctx: Pick<ReconcileContext, 'events' | 'gs'>,
  reason: string,
  note: string,
  type: EventType = 'Normal',
) {
  return ctx.events.record(eventTarget(ctx.gs), type, reason, note);
}
