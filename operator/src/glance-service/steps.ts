import type { ConditionUpdate } from '../runtime/conditions.js';
import { errorMessage, TerminalError } from '../runtime/errors.js';
import { reconcileCeph } from './ceph.js';
import { reconcileConfig } from './config.js';
import type { Passwords, ReconcileContext, StepCondition, StepType } from './context.js';
import { generatedPassword, secretsOf } from './credentials.js';
import { reconcileDatabase } from './database.js';
import { reconcileDeployment } from './deployment.js';
import { reconcileKeystone } from './keystone.js';
import { objectNames } from './names.js';

/** One step's condition as the status shows it. */
export type Step = ConditionUpdate & { type: StepType };

/** What a pass did: each step's condition up to the first failure, and that failure's error. */
export interface StepsOutcome {
  steps: Step[];
  failure?: { error: unknown };
}

/** The condition of a step that threw: a TerminalError's reason, or Unavailable for anything transient. */
export function failedStep(type: StepType, error: unknown): Step {
  if (error instanceof TerminalError) {
    return { type, status: 'False', reason: error.reason, message: error.message };
  }
  return { type, status: 'False', reason: 'Unavailable', message: errorMessage(error) };
}

async function resolvePasswords(ctx: ReconcileContext): Promise<Passwords> {
  const { gs, spec, kube } = ctx;
  const names = objectNames(gs.metadata.name);
  const ns = gs.metadata.namespace;
  const db = spec.database.passwordSecretRef;
  const ks = spec.keystone.passwordSecretRef;
  const secrets = secretsOf(kube, gs);
  return {
    database: db
      ? await secrets.value(ns, db.name, db.key)
      : await generatedPassword(kube, ctx.events, gs, names.dbPassword, 'database'),
    keystone: ks
      ? await secrets.value(ns, ks.name, ks.key)
      : await generatedPassword(kube, ctx.events, gs, names.keystonePassword, 'Keystone'),
  };
}

/**
 * The five steps in order, each converging one system and recording what it found in `ctx.status`. The first
 * failure ends the pass: later steps depend on earlier ones (the config needs the passwords and keyring, the
 * Deployment the config).
 */
export async function runSteps(ctx: ReconcileContext): Promise<StepsOutcome> {
  const steps: Step[] = [];
  let running: StepType = 'DatabaseReady';
  const done = ({ status, reason, message }: StepCondition) => {
    steps.push({ type: running, status, reason, message });
  };
  try {
    const passwords = await resolvePasswords(ctx);
    done(await reconcileDatabase(ctx, passwords.database));
    running = 'KeystoneReady';
    done(await reconcileKeystone(ctx, passwords.keystone));
    running = 'CephReady';
    const { clientFiles, ...ceph } = await reconcileCeph(ctx);
    done(ceph);
    running = 'ConfigReady';
    const { configHash, ...config } = await reconcileConfig(ctx, passwords, clientFiles);
    done(config);
    running = 'DeploymentReady';
    done(await reconcileDeployment(ctx, configHash));
    return { steps };
  } catch (error) {
    steps.push(failedStep(running, error));
    return { steps, failure: { error } };
  }
}
