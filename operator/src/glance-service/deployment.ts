import type { V1Job, V1PodDisruptionBudget } from '@kubernetes/client-node';
import { notify, type ReconcileContext, type StepCondition } from './context.js';
import { objectNames } from './names.js';
import { applyOwned } from './owned.js';
import {
  apiDeployment,
  apiDisruptionBudget,
  apiService,
  dbSyncJob,
  deploymentReadiness,
  imagesClaim,
  jobState,
  MIGRATION_HASH_LABEL,
} from './workload.js';

/**
 * Step 5: the schema migration Job for the current image and database, then the Deployment (paused until
 * that Job has succeeded, so no pod of a new version serves an old schema), its Service, and a
 * PodDisruptionBudget while there is more than one replica. The ready replicas go into the status.
 */
export async function reconcileDeployment(ctx: ReconcileContext, configHash: string): Promise<StepCondition> {
  const { gs, spec, kube } = ctx;
  const { namespace, name } = gs.metadata;

  if (spec.store.backends.includes('file')) await applyOwned(ctx, imagesClaim(gs, spec));

  const desiredJob = dbSyncJob(gs, spec);
  const jobRef = { apiVersion: 'batch/v1', kind: 'Job', namespace, name: desiredJob.metadata.name };
  let job = await kube.read<V1Job>(jobRef);
  if (!job) {
    // A Job's template cannot change, so each migration hash gets its own Job, created once.
    job = (await kube.createIfAbsent(desiredJob)) ?? (await kube.read<V1Job>(jobRef));
    await notify(ctx, 'MigrationJobCreated', `Created Job ${desiredJob.metadata.name} to migrate the schema`);
  }
  const selector = `app.kubernetes.io/instance=${name},app.kubernetes.io/component=db-sync`;
  const currentHash = desiredJob.metadata.labels?.[MIGRATION_HASH_LABEL];
  for (const old of await kube.list<V1Job>('batch/v1', 'Job', namespace, selector)) {
    if (old.metadata.labels?.[MIGRATION_HASH_LABEL] === currentHash) continue;
    if (await kube.delete({ ...jobRef, name: old.metadata.name ?? '' })) {
      await notify(
        ctx,
        'MigrationJobDeleted',
        `Deleted Job ${old.metadata.name ?? ''} of an earlier image or database`,
      );
    }
  }
  const migration = job ? jobState(job) : 'running';

  const { object: deployment } = await applyOwned(
    ctx,
    apiDeployment(gs, spec, { configHash, paused: migration !== 'succeeded' }),
  );
  await applyOwned(ctx, apiService(gs));

  const pdbName = objectNames(name).api;
  if (spec.replicas > 1) {
    await applyOwned(ctx, apiDisruptionBudget(gs));
  } else {
    const pdbRef = { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', namespace, name: pdbName };
    if ((await kube.read<V1PodDisruptionBudget>(pdbRef)) && (await kube.delete(pdbRef))) {
      await notify(
        ctx,
        'PodDisruptionBudgetDeleted',
        `Deleted PodDisruptionBudget ${pdbName}: one replica left`,
      );
    }
  }
  ctx.status.readyReplicas = deployment.status?.readyReplicas ?? 0;
  return deploymentReadiness(spec, desiredJob.metadata.name, migration, deployment);
}
