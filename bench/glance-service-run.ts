import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GLANCE_SERVICE } from '../operator/src/api/glance-service-types.js';
import { demoGlanceService, monHost, parseSample } from '../test/harness/demo/manifests.js';
import { removeAll } from '../test/harness/demo/wait-ready.js';
import { adminTokenFromStack } from '../test/harness/keystone.js';
import { findRepoRoot } from '../test/harness/paths.js';
import { stackValue } from '../test/harness/stack-env.js';
import type { Cleanups } from './cleanup.js';
import { apply, createNamespace, deleteNamespace, watchUntilReady, type Kube } from './kube.js';
import { startOperator, type OperatorProcess } from './operator-process.js';

/** Where the operators' logs of a run go. */
export const benchLogDir = (): string => path.join(stackValue('STACK_DIR'), 'log', 'bench');

/** A namespace of its own with the operator watching it; `cleanup` empties it through the operator first. */
export interface OperatorNamespace {
  namespace: string;
  operator: OperatorProcess;
  cleanup: () => Promise<void>;
}

export async function operatorNamespace(
  kube: Kube,
  cleanups: Cleanups,
  namespace: string,
  emptyFirst: (namespace: string) => Promise<void>,
  operatorEnv: Record<string, string> = {},
): Promise<OperatorNamespace> {
  await createNamespace(kube, namespace);
  let operator: OperatorProcess;
  try {
    operator = await startOperator(namespace, benchLogDir(), operatorEnv);
  } catch (err) {
    await deleteNamespace(kube, namespace);
    throw err;
  }
  const cleanup = cleanups.add(`namespace ${namespace} and its operator`, async () => {
    try {
      await emptyFirst(namespace);
    } finally {
      await operator.stop();
      await deleteNamespace(kube, namespace);
    }
  });
  return { namespace, operator, cleanup };
}

async function keystone(method: string, url: string): Promise<Response> {
  return fetch(`${stackValue('OS_AUTH_URL')}${url}`, {
    method,
    headers: { 'X-Auth-Token': await adminTokenFromStack() },
  });
}

/**
 * The operator removes the endpoints, service and user of a deleted GlanceService but keeps its region (other
 * services may use it); a repetition's region is its own, so it goes too.
 */
async function deleteRegion(region: string): Promise<void> {
  const res = await keystone('DELETE', `/regions/${encodeURIComponent(region)}`);
  if (res.status !== 204 && res.status !== 404) {
    throw new Error(`Keystone refused to delete region ${region}: HTTP ${res.status} ${await res.text()}`);
  }
}

/** Image services registered in Keystone, by name: a run must leave exactly those it found. */
export async function imageServices(): Promise<string[]> {
  const res = await keystone('GET', '/services?type=image');
  if (res.status !== 200) throw new Error(`Keystone: list services: HTTP ${res.status}`);
  const body = (await res.json()) as { services: Array<{ name: string }> };
  return body.services.map((s) => s.name).sort();
}

export interface GlanceServiceRun {
  /** ms from the apply of the GlanceService to the watch event showing Ready=True for it. */
  readyMs: number;
  remove: () => Promise<void>;
}

/**
 * samples/glanceservice.yaml made for this stack (as the demo does) with names of its own (namespace, region,
 * database, Keystone user and service, Ceph pool and user) and deletionPolicy Delete, so that every step is
 * done from nothing and `remove` leaves nothing behind. The operator runs for it as a process of this machine; the
 * kubelet of the stack's node runs its migration Job and API Deployment from the stack's image; the Secrets are
 * applied before the clock starts. Addresses are this machine's on the node's network, which both reach.
 */
export async function glanceServiceToReady(
  kube: Kube,
  cleanups: Cleanups,
  id: string,
  timeoutMs: number,
): Promise<GlanceServiceRun> {
  const namespace = `glance-bench-${id}`;
  const region = `RegionBench-${id}`;
  const space = await operatorNamespace(kube, cleanups, namespace, async (ns) => {
    await removeAll(kube.custom, GLANCE_SERVICE, ns, () => undefined, 300_000);
    await deleteRegion(region);
  });
  const podHost = stackValue('POD_HOST_IP');
  const fromPods = (value: string) => value.replaceAll('127.0.0.1', podHost);
  try {
    const objects = demoGlanceService(
      parseSample(readFileSync(path.join(findRepoRoot(), 'samples/glanceservice.yaml'), 'utf8')),
      {
        namespace,
        // Its Service's cluster URL: nothing on this machine calls the API in this scenario.
        apiUrl: `http://glance-api.${namespace}.svc:9292`,
        containerImage: stackValue('GLANCE_IMAGE'),
        region,
        db: {
          host: fromPods(stackValue('DB_HOST')),
          port: Number(stackValue('DB_PORT')),
          adminUser: stackValue('DB_ADMIN_USER'),
          adminPassword: stackValue('DB_ADMIN_PASSWORD'),
        },
        keystone: {
          authUrl: fromPods(stackValue('OS_AUTH_URL')),
          adminUser: stackValue('OS_USERNAME'),
          adminPassword: stackValue('OS_PASSWORD'),
        },
        ceph: {
          monHost: monHost(stackValue('CEPH_CONF')),
          adminKeyring: readFileSync(stackValue('CEPH_ADMIN_KEYRING'), 'utf8'),
        },
        names: {
          database: `glance_bench_${id}`,
          keystone: `glance-bench-${id}`,
          cephPool: `images-bench-${id}`,
          cephUser: `glance-bench-${id}`,
        },
        deletionPolicy: 'Delete',
      },
    );
    const service = objects.find((o) => o.kind === 'GlanceService');
    if (!service) throw new Error('samples/glanceservice.yaml has no GlanceService');
    for (const obj of objects.filter((o) => o !== service)) await apply(kube, obj);
    let start = 0;
    const ready = await Promise.race([
      watchUntilReady(kube, GLANCE_SERVICE, namespace, service.metadata.name, timeoutMs, async () => {
        start = performance.now();
        await apply(kube, service);
      }),
      space.operator.exited,
    ]);
    return { readyMs: ready - start, remove: space.cleanup };
  } catch (err) {
    await space.cleanup();
    throw err;
  }
}
