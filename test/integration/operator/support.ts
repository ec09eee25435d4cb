import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  KubeConfig,
  loadYaml,
  PatchStrategy,
  type EventsV1Event,
  type KubernetesObject,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import mysql from 'mysql2/promise';
import pino from 'pino';
import { CRD_FILE, CRD_NAME } from '../../../operator/src/api/glance-service-crd.js';
import { IMAGE_CRD_FILE, IMAGE_CRD_NAME } from '../../../operator/src/api/image-crd.js';
import {
  GLANCE_SERVICE,
  OPERATOR_ACCESS_LABEL,
  type GlanceService,
} from '../../../operator/src/api/glance-service-types.js';
import { createGlanceController } from '../../../operator/src/glance-service/glance-controller.js';
import { CONTROLLER_NAME, FIELD_MANAGER } from '../../../operator/src/api/operator-identity.js';
import { createImageController, type ImageController } from '../../../operator/src/image/image-controller.js';
import { UrlPolicy, urlPolicyEnv } from '../../../operator/src/net/url-policy.js';
import type { Controller } from '../../../operator/src/runtime/controller.js';
import { KubeEventRecorder } from '../../../operator/src/runtime/events.js';
import { KubeApiClient } from '../../../operator/src/runtime/kube-client.js';
import {
  createOperatorMetrics,
  type OperatorMetrics,
} from '../../../operator/src/runtime/operator-metrics.js';
import { adminTokenFromStack } from '../../harness/keystone.js';
import { loadStackEnv } from '../../harness/stack-env.js';

export const suffix = (): string => randomBytes(3).toString('hex');

export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(loadStackEnv().KUBECONFIG ?? '');
  return kc;
}

/** A client for the test's own reads and writes, counted apart from the operator's. */
export function testKube(): KubeApiClient {
  return new KubeApiClient(kubeConfig(), createOperatorMetrics(), 'glance-operator-tests');
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 120_000,
  intervalMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

/** Installs the CRDs from crds/ (exactly what a user applies) and waits until they are served. */
export async function installCrd(kube: KubeApiClient): Promise<void> {
  for (const file of [CRD_FILE, IMAGE_CRD_FILE]) {
    const crd = loadYaml<V1CustomResourceDefinition>(
      readFileSync(new URL(`../../../${file}`, import.meta.url), 'utf8'),
    );
    await kube.objects.patch(
      crd,
      undefined,
      undefined,
      'glance-operator-tests',
      true,
      PatchStrategy.ServerSideApply,
    );
  }
  for (const name of [CRD_NAME, IMAGE_CRD_NAME]) {
    await waitFor(`the CRD ${name} to be established`, async () => {
      const current = await kube.read<V1CustomResourceDefinition>({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        namespace: '',
        name,
      });
      return current?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    });
  }
}

export async function createNamespace(kube: KubeApiClient, name: string): Promise<void> {
  await kube.core.createNamespace({ body: { metadata: { name } } });
}

/** Deletes the namespace; GlanceServices still there lose their finalizer first so that nothing hangs. */
export async function deleteNamespace(kube: KubeApiClient, name: string): Promise<void> {
  const list = (await kube.custom.listNamespacedCustomObject({
    group: GLANCE_SERVICE.group,
    version: GLANCE_SERVICE.version,
    plural: GLANCE_SERVICE.plural,
    namespace: name,
  })) as { items: GlanceService[] };
  for (const gs of list.items) {
    await kube.mergePatchCustom(GLANCE_SERVICE, name, gs.metadata.name, { metadata: { finalizers: null } });
  }
  await kube.core.deleteNamespace({ name }).catch(() => undefined);
}

/** A Secret for the operator (carrying its access label), or with `labelled: false` one that is not. */
export async function createSecret(
  kube: KubeApiClient,
  namespace: string,
  name: string,
  data: Record<string, string>,
  { labelled = true } = {},
): Promise<void> {
  await kube.core.createNamespacedSecret({
    namespace,
    body: {
      metadata: { name, ...(labelled ? { labels: { [OPERATOR_ACCESS_LABEL]: 'true' } } : {}) },
      data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    },
  });
}

/** The stack's admin credentials as the Secrets a user would create for the operator. */
export async function createAdminSecrets(kube: KubeApiClient, namespace: string): Promise<void> {
  const env = loadStackEnv();
  await createSecret(kube, namespace, 'db-admin', {
    username: env.DB_ADMIN_USER ?? '',
    password: env.DB_ADMIN_PASSWORD ?? '',
  });
  await createSecret(kube, namespace, 'keystone-admin', {
    username: env.OS_USERNAME ?? '',
    password: env.OS_PASSWORD ?? '',
  });
  await createSecret(kube, namespace, 'ceph-admin', {
    keyring: readFileSync(env.CEPH_ADMIN_KEYRING ?? '/etc/ceph/ceph.client.admin.keyring', 'utf8'),
  });
}

export function cephMonHost(): string {
  const conf = readFileSync(loadStackEnv().CEPH_CONF ?? '/etc/ceph/ceph.conf', 'utf8');
  const line = /^\s*mon[_ ]host\s*=\s*(.+)$/m.exec(conf);
  if (!line?.[1]) throw new Error('no mon_host in the stack ceph.conf');
  return line[1].trim();
}

/** `host:port` of a URL, as the URL policy's allow rules name one port of an address. */
export function addressAndPort(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || (u.protocol === 'https:' ? 443 : 80)}`;
}

/**
 * The operator's URL policy for tests on this machine: the stack's Keystone and both Glances are on loopback,
 * which the policy refuses unless allowed, so they are allowed by address and port (and `extra` with them);
 * every other loopback port stays refused.
 */
export function stackUrlPolicy(extra: string[] = []): UrlPolicy {
  const env = loadStackEnv();
  const stack = [env.OS_AUTH_URL, env.API_URL, env.UPSTREAM_GLANCE_URL].filter((u): u is string => !!u);
  return new UrlPolicy(
    urlPolicyEnv.parse({ URL_POLICY_ALLOW: [...stack.map(addressAndPort), ...extra].join(',') }),
  );
}

export interface RunningOperator {
  controller: Controller;
  metrics: OperatorMetrics;
  /** Reconciles finished so far, whatever their result. */
  reconciles(): number;
  writes(system?: string): number;
  /** Everything the operator logged, at debug level. */
  logs(): string;
  stop(): Promise<void>;
}

/** The operator's controller (and, with `images`, the Image controller), in this process, watching only `namespace`. */
export async function startOperator(
  namespace: string,
  opts: {
    resyncMs?: number;
    stalledRetryMs?: number;
    deletionTimeoutMs?: number;
    images?: boolean;
    urlPolicy?: UrlPolicy;
  } = {},
): Promise<RunningOperator> {
  const metrics = createOperatorMetrics();
  let logs = '';
  const log = pino(
    { level: 'debug' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs += chunk.toString('utf8');
        done();
      },
    }),
  );
  const kube = new KubeApiClient(kubeConfig(), metrics, FIELD_MANAGER);
  const events = new KubeEventRecorder(kube, CONTROLLER_NAME, `test-${process.pid}`, log);
  const common = {
    kube,
    events,
    metrics,
    log,
    namespace,
    resyncMs: opts.resyncMs ?? 3000,
    stalledRetryMs: opts.stalledRetryMs ?? 3000,
    deletionTimeoutMs: opts.deletionTimeoutMs ?? 600_000,
    backoff: { baseMs: 500, maxMs: 5000 },
  };
  const urlPolicy = opts.urlPolicy ?? stackUrlPolicy();
  const controller = createGlanceController({ ...common, urlPolicy });
  let images: ImageController | undefined;
  if (opts.images) {
    images = createImageController({ ...common, urlPolicy, maxTransfers: 2, progressMs: 500 });
  }
  await Promise.all([controller.start(), images?.controller.start()]);
  return {
    controller,
    metrics,
    reconciles: () => metrics.reconciles.sum({ controller: 'glanceservice' }),
    writes: (system) => metrics.writes.sum(system ? { system } : {}),
    logs: () => logs,
    stop: async () => {
      await Promise.all([controller.stop(), images?.stop()]);
    },
  };
}

export async function getGlanceService(kube: KubeApiClient, namespace: string, name: string) {
  return kube.getCustom<GlanceService>(GLANCE_SERVICE, namespace, name);
}

export function condition(gs: GlanceService | undefined, type: string) {
  return gs?.status?.conditions?.find((c) => c.type === type);
}

export async function applyGlanceService(
  kube: KubeApiClient,
  namespace: string,
  name: string,
  spec: object,
): Promise<void> {
  const body: KubernetesObject & { spec: object } = {
    apiVersion: 'glance.stackops.dev/v1alpha1',
    kind: 'GlanceService',
    metadata: { name, namespace },
    spec,
  };
  await kube.objects.patch(
    body,
    undefined,
    undefined,
    'glance-operator-tests',
    true,
    PatchStrategy.ServerSideApply,
  );
}

export async function eventsFor(
  kube: KubeApiClient,
  namespace: string,
  name: string,
): Promise<EventsV1Event[]> {
  const list = await kube.events.listNamespacedEvent({ namespace });
  return list.items.filter((e) => e.regarding?.name === name);
}

export async function adminDb(): Promise<mysql.Connection> {
  const env = loadStackEnv();
  return mysql.createConnection({
    host: env.DB_HOST,
    port: Number(env.DB_PORT),
    user: env.DB_ADMIN_USER,
    password: env.DB_ADMIN_PASSWORD,
  });
}

/** A Keystone v3 admin call with the stack's admin token. */
export async function keystone<T = Record<string, unknown>>(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${loadStackEnv().OS_AUTH_URL}${path}`, {
    method,
    headers: {
      'X-Auth-Token': await adminTokenFromStack(),
      ...(body ? { 'Content-Type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
}

export { FIELD_MANAGER };
