import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  Watch,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { z } from 'zod';
import { GLANCE_SERVICE } from '../operator/src/api/glance-service-types.js';
import { IMAGE } from '../operator/src/api/image-types.js';
import { parseSample } from '../test/harness/demo/manifests.js';
import { waitServed, type CustomResource } from '../test/harness/demo/wait-ready.js';
import { findRepoRoot } from '../test/harness/paths.js';
import { stackValue } from '../test/harness/stack-env.js';

const FIELD_MANAGER = 'glance-bench';

export interface Kube {
  config: KubeConfig;
  objects: KubernetesObjectApi;
  custom: CustomObjectsApi;
  core: CoreV1Api;
}

export function kubeFromStack(): Kube {
  const config = new KubeConfig();
  config.loadFromFile(stackValue('KUBECONFIG'));
  return {
    config,
    objects: KubernetesObjectApi.makeApiClient(config),
    custom: config.makeApiClient(CustomObjectsApi),
    core: config.makeApiClient(CoreV1Api),
  };
}

export async function apply(kube: Kube, obj: KubernetesObject): Promise<void> {
  await kube.objects.patch(obj, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
}

/** The repository's CRDs, as the demo applies them; both kinds are served when this returns. */
export async function installCrds(kube: Kube): Promise<void> {
  const dir = path.join(findRepoRoot(), 'crds');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    for (const crd of parseSample(readFileSync(path.join(dir, file), 'utf8'))) await apply(kube, crd);
  }
  for (const type of [GLANCE_SERVICE, IMAGE]) await waitServed(kube.custom, type, 60_000);
}

/** A short random suffix, so that each repetition's names (namespace, region, database, pool) are new. */
export const suffix = (): string => randomBytes(3).toString('hex');

export async function createNamespace(kube: Kube, name: string): Promise<void> {
  await apply(kube, {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'app.kubernetes.io/part-of': 'glance-bench' } },
  });
}

/** Deletion is asynchronous (the namespace controller empties it); nothing waits on it. */
export async function deleteNamespace(kube: Kube, name: string): Promise<void> {
  await kube.core.deleteNamespace({ name }).catch(() => undefined);
}

const conditionSchema = z.object({
  type: z.string(),
  status: z.string(),
  reason: z.string().optional(),
  message: z.string().optional(),
});
const watchedSchema = z.object({
  metadata: z.object({ name: z.string(), generation: z.number().optional() }),
  status: z
    .object({
      observedGeneration: z.number().optional(),
      phase: z.string().optional(),
      conditions: z.array(conditionSchema).optional(),
    })
    .optional(),
});

/** A condition that will not clear by itself: the run fails at once instead of at its deadline. */
function stuck(status: z.infer<typeof watchedSchema>['status']): string | undefined {
  if (status?.phase === 'Failed') return 'phase Failed';
  const stalled = status?.conditions?.find((c) => c.type === 'Stalled' && c.status === 'True');
  return stalled ? `Stalled (${stalled.reason ?? ''}: ${stalled.message ?? ''})` : undefined;
}

/**
 * Resolves with performance.now() at the watch event that first shows Ready=True for the object's current
 * generation. A watch rather than polling, so that the moment is known to within an event's delivery, not a
 * polling interval. `onStart` runs once the watch is open, so that an apply made there cannot be missed.
 */
export async function watchUntilReady(
  kube: Kube,
  type: CustomResource,
  namespace: string,
  name: string,
  timeoutMs: number,
  onStart: () => Promise<void>,
): Promise<number> {
  const watch = new Watch(kube.config);
  const watchPath = `/apis/${type.group}/${type.version}/namespaces/${namespace}/${type.plural}`;
  let last = 'no event';
  let controller: AbortController | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<number>((resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(`${type.kind} ${namespace}/${name} not Ready after ${timeoutMs / 1000} s: ${last}`),
          ),
        timeoutMs,
      );
      const open = async (): Promise<void> => {
        controller = await watch.watch(
          watchPath,
          { fieldSelector: `metadata.name=${name}`, allowWatchBookmarks: false },
          (phase, raw) => {
            const at = performance.now();
            const parsed = watchedSchema.safeParse(raw);
            if (phase === 'DELETED' || !parsed.success) return;
            const { metadata, status } = parsed.data;
            const ready = status?.conditions?.find((c) => c.type === 'Ready');
            last = `phase ${status?.phase ?? '-'}, Ready ${ready?.status ?? '-'} (${ready?.reason ?? ''})`;
            const current = status?.observedGeneration === metadata.generation;
            if (ready?.status === 'True' && current) resolve(at);
            const reason = stuck(status);
            if (reason && current) reject(new Error(`${type.kind} ${namespace}/${name}: ${reason}`));
          },
          // The API server ends watches after a while; a new one replays the object as ADDED.
          (err: unknown) => {
            if (timer) void open().catch(reject);
            else if (err) reject(err as Error);
          },
        );
      };
      open().then(onStart).catch(reject);
    });
  } finally {
    clearTimeout(timer);
    timer = undefined;
    controller?.abort();
  }
}
