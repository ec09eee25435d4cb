import type {
  V1Container,
  V1Deployment,
  V1Job,
  V1PersistentVolumeClaim,
  V1PodDisruptionBudget,
  V1Service,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import type { GlanceService, GlanceServiceSpec } from '../api/glance-service-types.js';
import { GROUP } from '../api/glance-service-types.js';
import { TerminalError } from '../runtime/errors.js';
import type { StepCondition } from './context.js';
import {
  API_PORT,
  CONFIG_HASH_ANNOTATION,
  labels,
  objectNames,
  ownerReference,
  selectorLabels,
} from './names.js';
import { hashOf, type Desired } from './owned.js';
import { CEPH_DIR, CONFIG_DIR, CONFIG_FILE, IMAGES_DIR } from './render-config.js';

// The API image is this repository's build (its Dockerfile is later work): the compiled tree in /app, run by node.
const WORKDIR = '/app';
const API_MAIN = ['node', 'dist/api-server/src/main.js'];
const CONFIG_ARGS = ['--config-file', `${CONFIG_DIR}/${CONFIG_FILE}`];
export const MIGRATION_HASH_LABEL = `${GROUP}/migration-hash`;
const PRE_STOP_SECONDS = 5;
const DRAIN_SECONDS = 60;

/**
 * What decides whether the schema must be migrated again: the server version (image) and which database.
 * Passwords and other settings are left out on purpose, so changing them rolls the pods without a Job.
 */
export function migrationHash(spec: GlanceServiceSpec): string {
  const { host, port, name } = spec.database;
  return hashOf([spec.image, host, port, name]).slice(0, 10);
}

function volumes(
  gs: GlanceService,
  spec: GlanceServiceSpec,
  withStore: boolean,
): { volumes: V1Volume[]; mounts: V1VolumeMount[] } {
  const names = objectNames(gs.metadata.name);
  const out: V1Volume[] = [
    {
      name: 'config',
      secret: { secretName: names.config, items: [{ key: CONFIG_FILE, path: CONFIG_FILE }] },
    },
  ];
  const mounts: V1VolumeMount[] = [{ name: 'config', mountPath: CONFIG_DIR, readOnly: true }];
  if (spec.ceph && spec.store.backends.includes('rbd')) {
    const keyring = `ceph.client.${spec.ceph.user}.keyring`;
    out.push({
      name: 'ceph',
      secret: {
        secretName: names.cephClient,
        items: [
          { key: 'ceph.conf', path: 'ceph.conf' },
          { key: keyring, path: keyring },
        ],
      },
    });
    mounts.push({ name: 'ceph', mountPath: CEPH_DIR, readOnly: true });
  }
  if (withStore && spec.store.backends.includes('file')) {
    out.push({ name: 'images', persistentVolumeClaim: { claimName: names.imagesClaim } });
    mounts.push({ name: 'images', mountPath: IMAGES_DIR });
  }
  return { volumes: out, mounts };
}

function container(
  name: string,
  spec: GlanceServiceSpec,
  mounts: V1VolumeMount[],
  args: string[],
): V1Container {
  return {
    name,
    image: spec.image,
    ...(spec.imagePullPolicy ? { imagePullPolicy: spec.imagePullPolicy } : {}),
    workingDir: WORKDIR,
    command: API_MAIN,
    args,
    volumeMounts: mounts,
    ...(spec.resources ? { resources: spec.resources } : {}),
  };
}

const meta = (gs: GlanceService, name: string, component: string) => ({
  name,
  namespace: gs.metadata.namespace,
  labels: labels(gs.metadata.name, component),
  ownerReferences: [ownerReference(gs)],
});

export function dbSyncJob(gs: GlanceService, spec: GlanceServiceSpec): Desired<V1Job> {
  const hash = migrationHash(spec);
  const { volumes: vols, mounts } = volumes(gs, spec, false);
  const m = meta(gs, `${objectNames(gs.metadata.name).dbSyncPrefix}${hash}`, 'db-sync');
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { ...m, labels: { ...m.labels, [MIGRATION_HASH_LABEL]: hash } },
    spec: {
      backoffLimit: 4,
      template: {
        metadata: { labels: labels(gs.metadata.name, 'db-sync') },
        spec: {
          restartPolicy: 'OnFailure',
          containers: [container('db-sync', spec, mounts, ['db-sync', ...CONFIG_ARGS])],
          volumes: vols,
        },
      },
    },
  };
}

export function apiDeployment(
  gs: GlanceService,
  spec: GlanceServiceSpec,
  opts: { configHash: string; paused: boolean },
): Desired<V1Deployment> {
  const { volumes: vols, mounts } = volumes(gs, spec, true);
  const probe = { httpGet: { path: '/', port: 'api' } };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(gs, objectNames(gs.metadata.name).api, 'api'),
    spec: {
      replicas: spec.replicas,
      // Only `true` is written: the API server omits `false`, and an omitted field the operator no longer
      // sets is dropped by server-side apply, which unpauses.
      ...(opts.paused ? { paused: true } : {}),
      selector: { matchLabels: selectorLabels(gs.metadata.name, 'api') },
      template: {
        metadata: {
          labels: labels(gs.metadata.name, 'api'),
          annotations: { [CONFIG_HASH_ANNOTATION]: opts.configHash },
        },
        spec: {
          containers: [
            {
              ...container('glance-api', spec, mounts, CONFIG_ARGS),
              ports: [{ name: 'api', containerPort: API_PORT }],
              // GET / is the unauthenticated version document (300 Multiple Choices counts as success).
              readinessProbe: { ...probe, periodSeconds: 10 },
              livenessProbe: { ...probe, periodSeconds: 20, failureThreshold: 6 },
              // A pod being replaced keeps serving until kube-proxy and every other endpoint watcher have
              // dropped it; only then does SIGTERM stop its listener, so a rollout fails no request.
              lifecycle: { preStop: { sleep: { seconds: PRE_STOP_SECONDS } } },
            },
          ],
          // The wait above, plus the server's own drain of in-flight requests.
          terminationGracePeriodSeconds: PRE_STOP_SECONDS + DRAIN_SECONDS,
          volumes: vols,
        },
      },
    },
  };
}

export function apiService(gs: GlanceService): Desired<V1Service> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(gs, objectNames(gs.metadata.name).api, 'api'),
    spec: {
      selector: selectorLabels(gs.metadata.name, 'api'),
      ports: [{ name: 'api', port: API_PORT, targetPort: 'api' }],
    },
  };
}

export function apiDisruptionBudget(gs: GlanceService): Desired<V1PodDisruptionBudget> {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: meta(gs, objectNames(gs.metadata.name).api, 'api'),
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(gs.metadata.name, 'api') } },
  };
}

/** The file store's claim. It has no owner: deletionPolicy decides whether the images outlive the service. */
export function imagesClaim(gs: GlanceService, spec: GlanceServiceSpec): Desired<V1PersistentVolumeClaim> {
  const { size, storageClassName, accessMode } = spec.store.file;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: objectNames(gs.metadata.name).imagesClaim,
      namespace: gs.metadata.namespace,
      labels: labels(gs.metadata.name, 'images'),
    },
    spec: {
      accessModes: [accessMode],
      resources: { requests: { storage: size } },
      ...(storageClassName ? { storageClassName } : {}),
    },
  };
}

export type JobState = 'running' | 'succeeded' | 'failed';

export function jobState(job: V1Job): JobState {
  const conditions = job.status?.conditions ?? [];
  const holds = (type: string) => conditions.some((c) => c.type === type && c.status === 'True');
  if (holds('Complete') || (job.status?.succeeded ?? 0) > 0) return 'succeeded';
  if (holds('Failed')) return 'failed';
  return 'running';
}

/** DeploymentReady from the migration Job and the Deployment's own status; a failed migration waits for a person. */
export function deploymentReadiness(
  spec: GlanceServiceSpec,
  jobName: string,
  job: JobState,
  deployment: V1Deployment | undefined,
): StepCondition {
  if (job === 'failed') {
    throw new TerminalError(
      'MigrationFailed',
      `Job ${jobName} failed: read its logs, fix the cause, then delete the Job to run it again`,
    );
  }
  if (job === 'running') {
    return {
      status: 'False',
      reason: 'MigrationPending',
      message: `waiting for Job ${jobName} to migrate the schema; the Deployment stays paused until then`,
    };
  }
  const status = deployment?.status;
  const generation = deployment?.metadata?.generation ?? 0;
  if (!status || (status.observedGeneration ?? 0) < generation) {
    return {
      status: 'False',
      reason: 'RollingOut',
      message: 'the Deployment controller has not seen the update yet',
    };
  }
  const available = status.availableReplicas ?? 0;
  const updated = status.updatedReplicas ?? 0;
  if (available < spec.replicas || updated < spec.replicas) {
    return {
      status: 'False',
      reason: 'RollingOut',
      message: `${Math.min(available, updated)}/${spec.replicas} replicas updated and available`,
    };
  }
  return { status: 'True', reason: 'Available', message: `${available}/${spec.replicas} replicas available` };
}
