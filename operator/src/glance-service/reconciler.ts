import type { Logger } from 'pino';
import {
  GLANCE_SERVICE,
  parseGlanceServiceSpec,
  type GlanceService,
  type GlanceServiceSpec,
  type GlanceServiceStatus,
} from '../api/glance-service-types.js';
import type { ObjectKey, Reconcile, ReconcileResult } from '../runtime/controller.js';
import { TerminalError } from '../runtime/errors.js';
import type { EventRecorder } from '../runtime/events.js';
import { addFinalizer, hasFinalizer } from '../runtime/finalizers.js';
import type { KubeClient } from '../runtime/kube-client.js';
import type { UrlPolicy } from '../net/url-policy.js';
import type { AdminConnectors } from './admin-clients.js';
import type { ReconcileContext } from './context.js';
import { finalizeGlanceService } from './deletion.js';
import { FINALIZER } from './names.js';
import { openSessions, type AdminSessions } from './sessions.js';
import { writeGlanceStatus, type StatusUpdate } from './status.js';
import { failedStep, runSteps, type StepsOutcome } from './steps.js';

export interface GlanceReconcilerOptions {
  kube: KubeClient;
  events: EventRecorder;
  /** Opens the admin sessions to MariaDB, Keystone and Ceph for each reconcile. */
  connect: AdminConnectors;
  /** Where keystone.authUrl may point, checked before any session is opened. */
  urlPolicy: UrlPolicy;
  /** Success is re-checked this often: drift outside Kubernetes (Keystone, MariaDB, Ceph) has no watch. */
  resyncMs: number;
  /** A Stalled object is retried this often, in case its Secrets were fixed. */
  stalledRetryMs: number;
  /** How long a deleted GlanceService keeps trying to clean up, from its deletionTimestamp, before it lets go. */
  deletionTimeoutMs: number;
}

export class GlanceServiceReconciler {
  constructor(private readonly opts: GlanceReconcilerOptions) {}

  readonly reconcile: Reconcile = async (key: ObjectKey, log: Logger): Promise<ReconcileResult> => {
    const { kube } = this.opts;
    // Read fresh rather than from the informer's cache: a stale copy would redo writes just made.
    const gs = await kube.getCustom<GlanceService>(GLANCE_SERVICE, key.namespace, key.name);
    if (!gs) return {};
    if (gs.metadata.deletionTimestamp) return this.finalize(gs, log);

    const parsed = parseGlanceServiceSpec(gs.spec);
    if ('error' in parsed) {
      await this.writeStatus(gs, { stalled: { reason: 'InvalidSpec', message: parsed.error }, steps: [] });
      return {};
    }
    return this.withSessions(gs, parsed.spec, async (sessions) => {
      // Added only now that every credential works: an object that never got this far has nothing to clean up.
      const withFinalizer = (await addFinalizer(kube, GLANCE_SERVICE, gs, FINALIZER)) as GlanceService;
      const status: GlanceServiceStatus = { ...gs.status };
      const ctx = this.context(withFinalizer, parsed.spec, log, sessions, status);
      return this.finish(withFinalizer, await runSteps(ctx), status);
    });
  };

  private context(
    gs: GlanceService,
    spec: GlanceServiceSpec,
    log: Logger,
    sessions: AdminSessions,
    status: GlanceServiceStatus,
  ): ReconcileContext {
    const { kube, events } = this.opts;
    return { kube, events, gs, spec, log, sessions, status };
  }

  /** Runs `work` with the admin sessions open, or reports on the step whose session could not be opened. */
  private async withSessions(
    gs: GlanceService,
    spec: GlanceServiceSpec,
    work: (sessions: AdminSessions) => Promise<ReconcileResult>,
  ): Promise<ReconcileResult> {
    const { kube, connect, urlPolicy } = this.opts;
    const opened = await openSessions({ kube, gs, spec, connect, policy: urlPolicy });
    if (!('sessions' in opened)) {
      return this.finish(gs, { steps: [failedStep(opened.step, opened.error)], failure: opened });
    }
    try {
      return await work(opened.sessions);
    } finally {
      await opened.sessions.close();
    }
  }

  /**
   * Writes the status a pass found and says when to look again: a terminal failure stalls the object and is
   * retried slowly, any other failure is thrown for the controller's backoff, success is re-checked at resync.
   */
  private async finish(
    gs: GlanceService,
    { steps, failure }: StepsOutcome,
    status?: GlanceServiceStatus,
  ): Promise<ReconcileResult> {
    const last = steps.at(-1);
    const terminal = failure?.error instanceof TerminalError && last;
    await this.writeStatus(gs, {
      steps,
      stalled: terminal
        ? { reason: terminal.reason, message: `${terminal.type}: ${terminal.message}` }
        : undefined,
      ...(status ? { status } : {}),
    });
    if (terminal) return { requeueAfterMs: this.opts.stalledRetryMs };
    if (failure) throw failure.error;
    return { requeueAfterMs: this.opts.resyncMs };
  }

  private writeStatus(gs: GlanceService, update: StatusUpdate): Promise<void> {
    return writeGlanceStatus(this.opts.kube, this.opts.events, gs, update);
  }

  /** Deletion, bounded: see deletion.ts. */
  private async finalize(gs: GlanceService, log: Logger): Promise<ReconcileResult> {
    if (!hasFinalizer(gs, FINALIZER)) return {};
    const { kube, events, connect, urlPolicy, deletionTimeoutMs, stalledRetryMs } = this.opts;
    return finalizeGlanceService(
      { kube, events, gs, log },
      { connect, urlPolicy, deletionTimeoutMs, stalledRetryMs },
    );
  }
}
