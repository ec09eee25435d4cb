import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { isConflict, isNotFound } from './kube-errors.js';
import type { OperatorMetrics } from './operator-metrics.js';
import { NO_FENCE, type WriteFence } from './write-fence.js';

/** Where a namespaced object lives. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
}

/** A custom resource type, as CustomObjectsApi addresses it. */
export interface CustomResourceType {
  group: string;
  version: string;
  plural: string;
  kind: string;
}

/** An object as stored: metadata is always present on what the API server returns. */
export type StoredObject<T extends KubernetesObject = KubernetesObject> = T & {
  metadata: NonNullable<T['metadata']>;
};

export type PropagationPolicy = 'Background' | 'Foreground' | 'Orphan';

const header = (ref: ObjectRef) => ({
  apiVersion: ref.apiVersion,
  kind: ref.kind,
  metadata: { name: ref.name, namespace: ref.namespace },
});

/**
 * What reconcilers ask of the API server: objects read, listed, applied, created and deleted, custom resources
 * patched, their status replaced. Reconcilers depend on this alone, so that a test can hand them an in-memory
 * fake; the informers, Events and the leader Lease use the API clients of KubeApiClient.
 */
export interface KubeClient {
  read<T extends KubernetesObject>(ref: ObjectRef): Promise<StoredObject<T> | undefined>;
  /** Objects of a kind in a namespace carrying `labelSelector` (equality terms, comma-separated). */
  list<T extends KubernetesObject>(
    apiVersion: string,
    kind: string,
    namespace: string,
    labelSelector: string,
  ): Promise<Array<StoredObject<T>>>;
  /** Server-side apply, taking over fields another manager changed by hand: the spec is the truth. */
  apply<T extends KubernetesObject>(obj: T): Promise<StoredObject<T>>;
  /** Creates `obj`, or returns undefined when an object of that name exists already. */
  createIfAbsent<T extends KubernetesObject>(obj: T): Promise<StoredObject<T> | undefined>;
  /** Deletes the object; false when it was already gone. */
  delete(ref: ObjectRef, propagationPolicy?: PropagationPolicy): Promise<boolean>;
  getCustom<T extends KubernetesObject>(
    type: CustomResourceType,
    namespace: string,
    name: string,
  ): Promise<StoredObject<T> | undefined>;
  /** A JSON merge patch of a custom resource; include metadata.resourceVersion to make it conditional. */
  mergePatchCustom<T extends KubernetesObject>(
    type: CustomResourceType,
    namespace: string,
    name: string,
    patch: object,
  ): Promise<StoredObject<T>>;
  /**
   * Replaces the whole status of a custom resource through its status subresource, only if the object is still
   * at `resourceVersion`: else 409 Conflict, because someone wrote it since it was read.
   */
  replaceCustomStatus<T extends KubernetesObject>(
    type: CustomResourceType,
    namespace: string,
    name: string,
    resourceVersion: string,
    status: object,
  ): Promise<StoredObject<T>>;
}

/**
 * The operator's only way to the API server. Every call that changes something first asks the write fence (the
 * leader elector: once this process may no longer lead, writes throw NotLeaderError and nothing is sent), then is
 * counted in glance_operator_writes_total{system="kube"}, so "a reconcile with nothing to do writes nothing" is
 * measurable. The leader elector's own Lease calls are the only writes outside it.
 */
export class KubeApiClient implements KubeClient {
  readonly objects: KubernetesObjectApi;
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
  readonly events: EventsV1Api;
  readonly coordination: CoordinationV1Api;

  constructor(
    readonly config: KubeConfig,
    private readonly metrics: OperatorMetrics,
    readonly fieldManager: string,
    private readonly fence: WriteFence = NO_FENCE,
  ) {
    this.objects = KubernetesObjectApi.makeApiClient(config);
    this.core = config.makeApiClient(CoreV1Api);
    this.custom = config.makeApiClient(CustomObjectsApi);
    this.events = config.makeApiClient(EventsV1Api);
    this.coordination = config.makeApiClient(CoordinationV1Api);
  }

  /** Throws NotLeaderError when this process may not write now; else counts the write about to be sent. */
  admitWrite(operation: string, kind: string): void {
    this.fence.check();
    this.metrics.writes.inc({ system: 'kube', operation, kind });
  }

  async read<T extends KubernetesObject>(ref: ObjectRef): Promise<StoredObject<T> | undefined> {
    try {
      return (await this.objects.read<T>(header(ref))) as StoredObject<T>;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async list<T extends KubernetesObject>(
    apiVersion: string,
    kind: string,
    namespace: string,
    labelSelector: string,
  ): Promise<Array<StoredObject<T>>> {
    const list = await this.listCollection<T>(apiVersion, kind, namespace, labelSelector);
    return list.items as Array<StoredObject<T>>;
  }

  /** The whole list, with the resourceVersion an informer watches from; all namespaces without `namespace`. */
  listCollection<T extends KubernetesObject>(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    labelSelector: string,
  ): Promise<KubernetesListObject<T>> {
    return this.objects.list<T>(
      apiVersion,
      kind,
      namespace,
      undefined,
      undefined,
      undefined,
      undefined,
      labelSelector,
    );
  }

  async apply<T extends KubernetesObject>(obj: T): Promise<StoredObject<T>> {
    this.admitWrite('apply', obj.kind ?? '');
    return (await this.objects.patch(
      obj,
      undefined,
      undefined,
      this.fieldManager,
      true,
      PatchStrategy.ServerSideApply,
    )) as StoredObject<T>;
  }

  async createIfAbsent<T extends KubernetesObject>(obj: T): Promise<StoredObject<T> | undefined> {
    this.admitWrite('create', obj.kind ?? '');
    try {
      return (await this.objects.create(obj, undefined, undefined, this.fieldManager)) as StoredObject<T>;
    } catch (err) {
      if (isConflict(err)) return undefined;
      throw err;
    }
  }

  async delete(ref: ObjectRef, propagationPolicy: PropagationPolicy = 'Background'): Promise<boolean> {
    this.admitWrite('delete', ref.kind);
    try {
      await this.objects.delete(header(ref), undefined, undefined, undefined, undefined, propagationPolicy);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async getCustom<T extends KubernetesObject>(
    type: CustomResourceType,
    namespace: string,
    name: string,
  ): Promise<StoredObject<T> | undefined> {
    try {
      return (await this.custom.getNamespacedCustomObject({
        ...crParams(type),
        namespace,
        name,
      })) as StoredObject<T>;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async mergePatchCustom<T extends KubernetesObject>(
    type: CustomResourceType,
    namespace: string,
    name: string,
    patch: object,
  ): Promise<StoredObject<T>> {
    this.admitWrite('patch', type.kind);
    return (await this.custom.patchNamespacedCustomObject(
      { ...crParams(type), namespace, name, body: patch, fieldManager: this.fieldManager },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as StoredObject<T>;
  }

  async replaceCustomStatus<T extends KubernetesObject>(
    type: CustomResourceType,
    namespace: string,
    name: string,
    resourceVersion: string,
    status: object,
  ): Promise<StoredObject<T>> {
    this.admitWrite('patch-status', type.kind);
    return (await this.custom.patchNamespacedCustomObjectStatus(
      {
        ...crParams(type),
        namespace,
        name,
        body: [
          // The resourceVersion patched in is the precondition: the API server refuses the result with 409 unless
          // it equals the stored one (a `test` op would fail with 422, not a Conflict).
          { op: 'replace', path: '/metadata/resourceVersion', value: resourceVersion },
          // `add` replaces an existing member and creates a missing one, so it works on a first status too.
          { op: 'add', path: '/status', value: status },
        ],
        fieldManager: this.fieldManager,
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    )) as StoredObject<T>;
  }
}

function crParams(type: CustomResourceType) {
  return { group: type.group, version: type.version, plural: type.plural };
}
