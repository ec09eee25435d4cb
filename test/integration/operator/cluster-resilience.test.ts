import { jest } from '@jest/globals';
import type { V1Deployment, V1Lease, V1Pod } from '@kubernetes/client-node';
import type mysql from 'mysql2/promise';
import { GLANCE_SERVICE } from '../../../operator/src/api/glance-service-types.js';
import { KubeApiClient } from '../../../operator/src/runtime/kube-client.js';
import { createOperatorMetrics } from '../../../operator/src/runtime/operator-metrics.js';
import { adminTokenFromStack } from '../../harness/keystone.js';
import { installOperatorChart, uninstallOperatorChart } from '../../harness/operator-chart.js';
import { SourceServer } from './image/source-server.js';
import {
  E2E,
  e2eGlanceServiceSpec,
  e2eKubeConfig,
  OPERATOR_RELEASE,
  STACK_HOST,
  startE2e,
  type E2eBringUp,
} from './e2e-target.js';
import { cleanUpServices, namesFor } from './services.js';
import {
  adminDb,
  applyGlanceService,
  condition,
  createAdminSecrets,
  createNamespace,
  deleteNamespace,
  getGlanceService,
  installCrd,
  suffix,
  waitFor,
} from './support.js';

// What happens to a GlanceService's pods and to the operator's pods in a real cluster on an ordinary day: a
// configuration change rolled out under a reading client, an API pod lost, the operator's leader lost, the chart
// upgraded and uninstalled. Two API replicas on the rbd store (a ReadWriteOnce claim cannot be shared; the operator
// refuses that), so a PodDisruptionBudget, and two operator replicas (leader election).
jest.setTimeout(600_000);

const sfx = suffix();
const ns = `glance-res-${sfx}`;
const names = namesFor('res', 'r', sfx);
const NAME = 'resilient';
const LEASE = 'glance-operator-leader';

let kube: KubeApiClient;
let db: mysql.Connection;
let bringUp: E2eBringUp;
const source = new SourceServer(STACK_HOST);

const spec = (extraConfig: Record<string, Record<string, string>> = {}) =>
  e2eGlanceServiceSpec(bringUp, names, {
    sourcePort: source.port,
    replicas: 2,
    store: { backends: ['rbd'], default: 'rbd' },
    extraConfig,
  });

async function ready(configHash?: string) {
  return waitFor(
    'the GlanceService to be Ready',
    async () => {
      const gs = await getGlanceService(kube, ns, NAME);
      const r = condition(gs, 'Ready');
      const current = r?.status === 'True' && r.observedGeneration === gs?.metadata.generation;
      return current && (!configHash || gs?.status?.configHash !== configHash) ? gs : undefined;
    },
    300_000,
  ).catch(async (err: unknown) => {
    throw new Error(`${String(err)}\n${await bringUp.logs()}`);
  });
}

async function pods(selector: string): Promise<V1Pod[]> {
  const list = await kube.core.listNamespacedPod({ namespace: ns, labelSelector: selector });
  return list.items.filter((p) => !p.metadata?.deletionTimestamp);
}
const apiPods = () => pods(`app.kubernetes.io/instance=${NAME},app.kubernetes.io/component=api`);
const operatorPods = () => pods(`app.kubernetes.io/instance=${OPERATOR_RELEASE}`);

async function apiDeployment(): Promise<V1Deployment | undefined> {
  return kube.read<V1Deployment>({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    namespace: ns,
    name: `${NAME}-api`,
  });
}

/** The pod that holds the leader Lease (an identity is `<pod name>_<n>`). */
async function leaseHolder(): Promise<string | undefined> {
  const lease: V1Lease = await kube.coordination.readNamespacedLease({ name: LEASE, namespace: ns });
  return lease.spec?.holderIdentity?.replace(/_\d+$/, '') || undefined;
}

/** A pod gone at once, as when its node dies: no grace period, no preStop. */
async function kill(pod: V1Pod): Promise<void> {
  await kube.core.deleteNamespacedPod({
    name: pod.metadata?.name ?? '',
    namespace: ns,
    gracePeriodSeconds: 0,
  });
}

/** GET of one image, in a loop until stopped, counting what did not come back 200. */
function readLoop(url: string, token: string) {
  let stopped = false;
  const result = { ok: 0, failures: [] as string[] };
  const done = (async () => {
    while (!stopped) {
      try {
        const res = await fetch(url, {
          headers: { 'X-Auth-Token': token },
          signal: AbortSignal.timeout(10_000),
        });
        await res.arrayBuffer();
        if (res.status === 200) result.ok++;
        else result.failures.push(`HTTP ${res.status}`);
      } catch (err) {
        // fetch's own message says only "fetch failed": the cause says which socket error, the time when.
        result.failures.push(
          `${String(err)}: ${String((err as { cause?: unknown }).cause)} at ${new Date().toISOString()}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await done;
      return result;
    },
  };
}

let imageUrl = '';

beforeAll(async () => {
  kube = new KubeApiClient(e2eKubeConfig(), createOperatorMetrics(), 'glance-operator-tests');
  db = await adminDb();
  await source.start();
  await installCrd(kube);
  await createNamespace(kube, ns);
  await createAdminSecrets(kube, ns);
  bringUp = await startE2e(ns, NAME, { operatorReplicas: 2 });
  await applyGlanceService(kube, ns, NAME, spec());
  await ready();
  // One image to read, through the Service.
  const token = await adminTokenFromStack();
  const base = await bringUp.directUrl();
  const created = await fetch(`${base}/v2/images`, {
    method: 'POST',
    headers: { 'X-Auth-Token': token, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: `res-${sfx}`, disk_format: 'raw', container_format: 'bare' }),
  });
  expect(created.status).toBe(201);
  const { id } = (await created.json()) as { id: string };
  const put = await fetch(`${base}/v2/images/${id}/file`, {
    method: 'PUT',
    headers: { 'X-Auth-Token': token, 'Content-Type': 'application/octet-stream' },
    body: Buffer.alloc(64 * 1024, 7),
  });
  expect(put.status).toBe(204);
  imageUrl = `${base}/v2/images/${id}/file`;
});

afterAll(async () => {
  await bringUp?.stop();
  await source.stop();
  if (kube) await deleteNamespace(kube, ns);
  if (db) {
    await cleanUpServices(db, names);
    await db.end();
  }
});

describe('a GlanceService and its operator through the events of a real cluster', () => {
  it('rolls a configuration change out with no failed request from a client reading through the Service', async () => {
    const before = await getGlanceService(kube, ns, NAME);
    const oldPods = new Set((await apiPods()).map((p) => p.metadata?.name));
    expect(oldPods.size).toBe(2);
    const client = readLoop(imageUrl, await adminTokenFromStack());
    await applyGlanceService(kube, ns, NAME, spec({ DEFAULT: { show_image_direct_url: 'True' } }));
    await ready(before?.status?.configHash);
    await waitFor(
      'every old pod to be gone',
      async () => {
        const now = await apiPods();
        return now.length === 2 && now.every((p) => !oldPods.has(p.metadata?.name)) && now;
      },
      300_000,
    );
    const result = await client.stop();
    expect(result.failures).toEqual([]);
    expect(result.ok).toBeGreaterThan(20);
  });

  it('replaces an API pod that dies, and the GlanceService is Ready again', async () => {
    const [victim] = await apiPods();
    if (!victim) throw new Error('no API pod');
    await kill(victim);
    await waitFor('a replacement pod, both ready', async () => {
      const deployment = await apiDeployment();
      const now = await apiPods();
      return (
        deployment?.status?.readyReplicas === 2 &&
        now.every((p) => p.metadata?.name !== victim.metadata?.name) &&
        now.length === 2
      );
    });
    const res = await fetch(imageUrl, { headers: { 'X-Auth-Token': await adminTokenFromStack() } });
    expect(res.status).toBe(200);
    // The operator saw a replica go and come back: Ready again, for the current generation.
    await ready();
  });

  it('hands the work to the other operator pod when the leader dies', async () => {
    const leader = await waitFor('a leader', leaseHolder);
    const leaderPod = (await operatorPods()).find((p) => p.metadata?.name === leader);
    if (!leaderPod) throw new Error(`the Lease names ${leader}, which is not an operator pod`);
    await kill(leaderPod);
    // The Lease lasts 15 s without renewal; the other pod then takes it.
    const successor = await waitFor(
      'another pod to hold the Lease',
      async () => {
        const holder = await leaseHolder();
        return holder && holder !== leader ? holder : undefined;
      },
      90_000,
    );
    expect((await operatorPods()).map((p) => p.metadata?.name)).toContain(successor);
    // The successor reconciles: a change made now is rolled out.
    const before = await getGlanceService(kube, ns, NAME);
    await applyGlanceService(kube, ns, NAME, spec({ DEFAULT: { show_image_direct_url: 'False' } }));
    const gs = await ready(before?.status?.configHash);
    expect(gs?.status?.configHash).not.toBe(before?.status?.configHash);
  });

  it('upgrades the operator with helm in place, and uninstalling leaves nothing of the release', async () => {
    const release = {
      kubeconfig: E2E.kubeconfig,
      namespace: ns,
      release: OPERATOR_RELEASE,
      image: E2E.image,
      watchNamespace: ns,
      replicas: 1,
    };
    await installOperatorChart(release);
    expect((await operatorPods()).length).toBe(1);
    // The upgraded operator still does its job: the GlanceService goes, through its finalizer.
    await kube.custom.deleteNamespacedCustomObject({ ...GLANCE_SERVICE, namespace: ns, name: NAME });
    await waitFor('the GlanceService to go', async () => !(await getGlanceService(kube, ns, NAME)), 180_000);

    await uninstallOperatorChart(release);
    const selector = `app.kubernetes.io/instance=${OPERATOR_RELEASE}`;
    await waitFor('the operator pods to go', async () => (await operatorPods()).length === 0);
    const left = await Promise.all([
      kube.list('apps/v1', 'Deployment', ns, selector),
      kube.list('v1', 'Service', ns, selector),
      kube.list('v1', 'ServiceAccount', ns, selector),
      kube.list('rbac.authorization.k8s.io/v1', 'Role', ns, selector),
      kube.list('rbac.authorization.k8s.io/v1', 'RoleBinding', ns, selector),
      kube.core.listNamespacedSecret({ namespace: ns, labelSelector: `owner=helm,name=${OPERATOR_RELEASE}` }),
    ]);
    expect(left.map((l) => (Array.isArray(l) ? l.length : l.items.length))).toEqual([0, 0, 0, 0, 0, 0]);
  });
});
