import { setTimeout as sleep } from 'node:timers/promises';
import type { CustomObjectsApi } from '@kubernetes/client-node';

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
interface WithStatus {
  metadata?: { generation?: number };
  status?: { conditions?: Condition[]; phase?: string; observedGeneration?: number };
}

export interface CustomResource {
  group: string;
  version: string;
  plural: string;
  kind: string;
}

/**
 * Polls a custom resource until its Ready condition is True, reporting each change of what it says (phase and
 * conditions), so that a person watching sees the steps go by. Throws after `timeoutMs` with the last state.
 */
export async function waitReady(
  api: CustomObjectsApi,
  type: CustomResource,
  namespace: string,
  name: string,
  report: (line: string) => void,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const obj = (await api
      .getNamespacedCustomObject({
        group: type.group,
        version: type.version,
        plural: type.plural,
        namespace,
        name,
      })
      .catch(() => undefined)) as WithStatus | undefined;
    const conditions = obj?.status?.conditions ?? [];
    const ready = conditions.find((c) => c.type === 'Ready');
    const summary = [
      obj?.status?.phase ? `phase ${obj.status.phase}` : '',
      ...conditions
        .filter((c) => c.type !== 'Reconciling')
        .map((c) => `${c.type}=${c.status}${c.status !== 'True' && c.reason ? ` (${c.reason})` : ''}`),
    ]
      .filter(Boolean)
      .join(', ');
    if (summary && summary !== last) {
      report(`${type.kind} ${name}: ${summary}`);
      last = summary;
    }
    // A Ready written for an older spec says nothing about this one.
    const current = obj?.status?.observedGeneration === obj?.metadata?.generation;
    if (ready?.status === 'True' && current) return;
    if (Date.now() > deadline) {
      throw new Error(
        `${type.kind} ${namespace}/${name} not Ready after ${timeoutMs / 1000} s: ${ready?.reason ?? 'no Ready condition'}` +
          `${ready?.message ? `: ${ready.message}` : ''}`,
      );
    }
    await sleep(1000);
  }
}

/** Deletes every object of `type` in the namespace and waits until the operator has let them all go. */
export async function removeAll(
  api: CustomObjectsApi,
  type: CustomResource,
  namespace: string,
  report: (line: string) => void,
  timeoutMs: number,
): Promise<void> {
  const params = { group: type.group, version: type.version, plural: type.plural, namespace };
  const names = async () =>
    (
      (await api.listNamespacedCustomObject(params)) as { items: Array<{ metadata: { name: string } }> }
    ).items.map((i) => i.metadata.name);
  const found = await names();
  for (const name of found) {
    report(`removing ${type.kind} ${name} left by an earlier run`);
    await api.deleteNamespacedCustomObject({ ...params, name });
  }
  const deadline = Date.now() + timeoutMs;
  while (found.length && (await names()).length) {
    if (Date.now() > deadline)
      throw new Error(`${type.kind}s in ${namespace} still there after ${timeoutMs / 1000} s`);
    await sleep(1000);
  }
}

/** Waits until the API server serves `type`: right after a CRD changes, its storage answers 429 for a moment. */
export async function waitServed(
  api: CustomObjectsApi,
  type: CustomResource,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await api.listClusterCustomObject({
        group: type.group,
        version: type.version,
        plural: type.plural,
        limit: 1,
      });
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(500);
    }
  }
}
