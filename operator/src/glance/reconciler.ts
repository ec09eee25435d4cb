import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import {
  GLANCE_SERVICE,
  parseGlanceServiceSpec,
  type GlanceService,
  type GlanceServiceSpec,
  type GlanceServiceStatus,
} from '../api/glance-service-types.js';
import type { Condition, ConditionUpdate } from '../runtime/conditions.js';
import { changedConditions, READY, RECONCILING, STALLED, summarize } from '../runtime/conditions.js';
import type { ObjectKey, Reconcile, ReconcileResult } from '../runtime/controller.js';
import { eventTarget, type EventRecorder } from '../runtime/events.js';
import { errorMessage, TerminalError } from '../runtime/errors.js';
import { addFinalizer, hasFinalizer, removeFinalizer } from '../runtime/finalizers.js';
import type { KubeClient } from '../runtime/kube-client.js';
import type { OperatorMetrics } from '../runtime/operator-metrics.js';
import { readSecretValue } from '../runtime/secrets.js';
import { isSubset } from '../runtime/subset.js';
import { deleteCephResources, reconcileCeph } from './ceph.js';
import { reconcileConfig } from './config.js';
import {
  notify,
  STEPS,
  type Passwords,
  type ReconcileContext,
  type StepResult,
  type StepType,
} from './context.js';
import { generatedPassword } from './credentials.js';
import { deleteDatabase, reconcileDatabase } from './database.js';
import { reconcileDeployment } from './deployment.js';
import { deleteKeystoneRegistration, reconcileKeystone, type EndpointUrls } from './keystone.js';
import { FINALIZER, objectNames, serviceUrl } from './names.js';
import { openSessions, SessionError, type AdminSessions } from './sessions.js';

export interface GlanceReconcilerOptions {
  kube: KubeClient;
  events: EventRecorder;
  metrics: OperatorMetrics;
  /** Success is re-checked this often: drift outside Kubernetes (Keystone, MariaDB, Ceph) has no watch. */
  resyncMs: number;
  /** A Stalled object is retried this often, in case its Secrets were fixed. */
  stalledRetryMs: number;
}

type Step = { type: StepType } & StepResult;

/** Reasons for a False condition that are progress, not trouble. */
const PROGRESS_REASONS = new Set(['MigrationPending', 'RollingOut']);

/** A step that did not run this time keeps what was last seen of it. */
function carryOver(previous: readonly Condition[], type: StepType): ConditionUpdate {
  const old = previous.find((c) => c.type === type);
  return old
    ? { type, status: old.status, reason: old.reason, message: old.message }
    : { type, status: 'Unknown', reason: 'NotChecked', message: 'an earlier step has not succeeded yet' };
}

function failedStep(type: StepType, err: unknown): Step {
  if (err instanceof TerminalError) {
    return { type, status: 'False', reason: err.reason, message: err.message, terminal: true };
  }
  return { type, status: 'False', reason: 'Unavailable', message: errorMessage(err) };
}

export function endpointUrls(gs: GlanceService, spec: GlanceServiceSpec): EndpointUrls {
  const fallback = serviceUrl(gs);
  return {
    public: spec.endpoints.public ?? fallback,
    internal: spec.endpoints.internal ?? fallback,
    admin: spec.endpoints.admin ?? fallback,
  };
}

async function resolvePasswords(ctx: ReconcileContext): Promise<Passwords> {
  const { gs, spec, kube } = ctx;
  const names = objectNames(gs.metadata.name);
  const ns = gs.metadata.namespace;
  const db = spec.database.passwordSecretRef;
  const ks = spec.keystone.passwordSecretRef;
  return {
    database: db
      ? await readSecretValue(kube, ns, db.name, db.key)
      : await generatedPassword(kube, ctx.events, gs, names.dbPassword, 'database'),
    keystone: ks
      ? await readSecretValue(kube, ns, ks.name, ks.key)
      : await generatedPassword(kube, ctx.events, gs, names.keystonePassword, 'Keystone'),
  };
}

/**
 * The five steps in order, each converging one system. The first failure ends the pass: later steps depend on
 * earlier ones (the config needs the passwords and keyring, the Deployment the config).
 */
async function runSteps(
  ctx: ReconcileContext,
  status: GlanceServiceStatus,
): Promise<{ steps: Step[]; error?: unknown }> {
  const steps: Step[] = [];
  const failAt = (type: StepType, err: unknown) => {
    steps.push(failedStep(type, err));
    return { steps, error: err };
  };
  let passwords: Passwords;
  try {
    passwords = await resolvePasswords(ctx);
    steps.push({ type: 'DatabaseReady', ...(await reconcileDatabase(ctx, passwords.database)) });
  } catch (err) {
    return failAt('DatabaseReady', err);
  }
  try {
    const urls = endpointUrls(ctx.gs, ctx.spec);
    const { serviceId, ...result } = await reconcileKeystone(ctx, passwords.keystone, urls);
    steps.push({ type: 'KeystoneReady', ...result });
    status.serviceId = serviceId;
    status.endpoints = urls;
  } catch (err) {
    return failAt('KeystoneReady', err);
  }
  let clientFiles: Record<string, string> | undefined;
  try {
    const { clientFiles: files, ...result } = await reconcileCeph(ctx);
    clientFiles = files;
    steps.push({ type: 'CephReady', ...result });
  } catch (err) {
    return failAt('CephReady', err);
  }
  let configHash: string;
  try {
    const { configHash: hash, ...result } = await reconcileConfig(ctx, passwords, clientFiles);
    configHash = hash;
    steps.push({ type: 'ConfigReady', ...result });
    status.configHash = hash;
  } catch (err) {
    return failAt('ConfigReady', err);
  }
  try {
    const { readyReplicas, ...result } = await reconcileDeployment(ctx, configHash);
    steps.push({ type: 'DeploymentReady', ...result });
    status.readyReplicas = readyReplicas;
  } catch (err) {
    return failAt('DeploymentReady', err);
  }
  return { steps };
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
    const { spec } = parsed;

    let sessions: AdminSessions;
    try {
      sessions = await openSessions(kube, gs, spec, this.opts.metrics);
    } catch (err) {
      return this.sessionFailed(gs, err);
    }
    try {
      const ctx: ReconcileContext = { ...this.opts, gs, spec, log, sessions };
      // Added only now that every credential works: an object that never got this far has nothing to clean up.
      const withFinalizer = (await addFinalizer(kube, GLANCE_SERVICE, gs, FINALIZER)) as GlanceService;
      ctx.gs = withFinalizer;
      const status: GlanceServiceStatus = { ...gs.status };
      const { steps, error } = await runSteps(ctx, status);
      const terminal = steps.find((s) => s.terminal);
      await this.writeStatus(withFinalizer, {
        steps,
        stalled: terminal
          ? { reason: terminal.reason, message: `${terminal.type}: ${terminal.message}` }
          : undefined,
        status,
      });
      if (terminal) return { requeueAfterMs: this.opts.stalledRetryMs };
      if (error) throw error;
      return { requeueAfterMs: this.opts.resyncMs };
    } finally {
      await sessions.close();
    }
  };

  private async sessionFailed(gs: GlanceService, err: unknown): Promise<ReconcileResult> {
    const step = err instanceof SessionError ? err.step : 'DatabaseReady';
    const cause = err instanceof SessionError ? err.cause : err;
    const failed = failedStep(step, cause);
    await this.writeStatus(gs, {
      steps: [failed],
      stalled: failed.terminal ? { reason: failed.reason, message: `${step}: ${failed.message}` } : undefined,
    });
    if (failed.terminal) return { requeueAfterMs: this.opts.stalledRetryMs };
    throw cause;
  }

  /**
   * Writes status only if it changed, with an Event for each condition that changed status or reason. Steps
   * not in `steps` keep their previous conditions.
   */
  private async writeStatus(
    gs: GlanceService,
    update: {
      steps: Step[];
      stalled?: { reason: string; message: string } | undefined;
      status?: GlanceServiceStatus;
    },
  ): Promise<void> {
    const previous = (gs.status?.conditions ?? []) as Condition[];
    const generation = gs.metadata.generation ?? 0;
    const steps = STEPS.map((type) => update.steps.find((s) => s.type === type) ?? carryOver(previous, type));
    const conditions = summarize(previous, { steps, stalled: update.stalled }, generation, new Date());
    const next: GlanceServiceStatus = {
      ...(update.status ?? gs.status),
      observedGeneration: generation,
      conditions,
    };
    if (gs.status && isSubset(next, gs.status) && isSubset(gs.status, next)) return;
    await this.opts.kube.replaceCustomStatus(GLANCE_SERVICE, gs.metadata.namespace, gs.metadata.name, next);
    for (const c of changedConditions(previous, conditions)) {
      // Ready and Reconciling only repeat a step's news.
      if (c.type === READY || c.type === RECONCILING || c.status === 'Unknown') continue;
      const normal = c.type !== STALLED && (c.status === 'True' || PROGRESS_REASONS.has(c.reason));
      await this.opts.events.record(
        eventTarget(gs),
        normal ? 'Normal' : 'Warning',
        c.reason,
        `${c.type}=${c.status}: ${c.message}`,
      );
    }
  }

  /**
   * Deletion: Keystone registration always goes; with deletionPolicy Delete also the database and its users,
   * the Ceph user and pool, and the images claim. The finalizer is removed only after all of it succeeded.
   */
  private async finalize(gs: GlanceService, log: Logger): Promise<ReconcileResult> {
    if (!hasFinalizer(gs, FINALIZER)) return {};
    const parsed = parseGlanceServiceSpec(gs.spec);
    if ('error' in parsed) {
      await this.writeStatus(gs, {
        steps: [],
        stalled: {
          reason: 'CleanupBlocked',
          message: `cannot clean up with an invalid spec: ${parsed.error}`,
        },
      });
      return {};
    }
    const { spec } = parsed;
    let sessions: AdminSessions;
    try {
      sessions = await openSessions(this.opts.kube, gs, spec, this.opts.metrics);
    } catch (err) {
      return this.sessionFailed(gs, err);
    }
    try {
      const ctx: ReconcileContext = { ...this.opts, gs, spec, log, sessions };
      await deleteKeystoneRegistration(ctx);
      if (spec.deletionPolicy === 'Delete') {
        await deleteDatabase(ctx, spec);
        await deleteCephResources(ctx);
        const claim = objectNames(gs.metadata.name).imagesClaim;
        const ref = {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          namespace: gs.metadata.namespace,
          name: claim,
        };
        if ((await this.opts.kube.read<V1PersistentVolumeClaim>(ref)) && (await this.opts.kube.delete(ref))) {
          await notify(
            ctx,
            'ImagesClaimDeleted',
            `Deleted PersistentVolumeClaim ${claim} (deletionPolicy Delete)`,
          );
        }
      } else {
        await notify(
          ctx,
          'Retained',
          'Kept the database, its users, the Ceph user and pool and the images claim (deletionPolicy Retain)',
        );
      }
      await removeFinalizer(this.opts.kube, GLANCE_SERVICE, gs, FINALIZER);
      return {};
    } finally {
      await sessions.close();
    }
  }
}
