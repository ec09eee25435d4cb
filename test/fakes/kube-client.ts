import { randomUUID } from 'node:crypto';
import { ApiException, type KubernetesObject } from '@kubernetes/client-node';
import type {
  CustomResourceType,
  KubeClient,
  ObjectRef,
  PropagationPolicy,
  StoredObject,
} from '../../operator/src/runtime/kube-client.js';

/** One call that changed (or tried to change) something, in the order made. */
export interface KubeWrite {
  verb: 'apply' | 'create' | 'delete' | 'patch' | 'patch-status';
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  /** What was sent: the object, the patch or the status. */
  body?: unknown;
}

type Verb = KubeWrite['verb'] | 'read';

const clone = <T>(value: T): T => structuredClone(value);

function apiError(code: number, reason: string, message: string): ApiException<string> {
  return new ApiException(code, message, JSON.stringify({ kind: 'Status', code, reason, message }), {});
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** RFC 7386: objects merge, null removes, anything else replaces. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/** Server-side apply as far as a single manager sees it: the fields sent are set, others are kept. */
function applyMerge(target: unknown, applied: unknown): unknown {
  if (!isObject(applied) || !isObject(target)) return clone(applied);
  const out: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(applied)) out[key] = applyMerge(out[key], value);
  return out;
}

function matches(labels: Record<string, string> | undefined, selector: string): boolean {
  return selector
    .split(',')
    .map((term) => term.trim())
    .filter(Boolean)
    .every((term) => {
      const [key, value] = term.split('=') as [string, string | undefined];
      return value === undefined ? key in (labels ?? {}) : labels?.[key] === value;
    });
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * An in-memory API server for reconciler tests, after controller-runtime's fake client: objects are stored by
 * apiVersion, kind, namespace and name; every write bumps a resourceVersion, a write carrying a stale one (and a
 * status write, which must carry one) fails with 409, a spec change bumps the generation, a delete of an object with finalizers only marks it deleted
 * and removing its last finalizer then deletes it. Objects go in and come out as copies. `writes` records each
 * call that changes something, so that a test can assert that a reconcile with nothing to do wrote nothing.
 */
export class FakeKubeClient implements KubeClient {
  private readonly objects = new Map<string, StoredObject>();
  private version = 0;
  private readonly failures: Array<{ verb: Verb; kind?: string; error: unknown }> = [];
  readonly writes: KubeWrite[] = [];

  /** Puts objects in place without recording a write, as a test's starting point. */
  seed(...objs: Array<KubernetesObject | (KubernetesObject & Record<string, unknown>)>): this {
    for (const obj of objs) this.store(this.fresh(obj));
    return this;
  }

  /** The stored copy of an object, or undefined. */
  get<T extends KubernetesObject>(ref: ObjectRef): StoredObject<T> | undefined {
    const obj = this.objects.get(this.key(ref));
    return obj ? (clone(obj) as StoredObject<T>) : undefined;
  }

  /** The stored copy of a custom resource, or undefined. */
  getCustomObject<T extends KubernetesObject>(
    type: CustomResourceType,
    namespace: string,
    name: string,
  ): StoredObject<T> | undefined {
    return this.get<T>(this.customRef(type, namespace, name));
  }

  /** Changes a stored object as a person would (kubectl edit), without recording a write of the operator. */
  edit<T extends KubernetesObject>(ref: ObjectRef, change: (obj: StoredObject<T>) => void): StoredObject<T> {
    const obj = this.get<T>(ref);
    if (!obj) throw new Error(`no ${ref.kind} ${ref.namespace}/${ref.name} to edit`);
    const before = clone(obj) as { spec?: unknown };
    change(obj);
    if (!same(before.spec, (obj as { spec?: unknown }).spec)) {
      obj.metadata.generation = (obj.metadata.generation ?? 0) + 1;
    }
    this.store(obj);
    return clone(obj);
  }

  /** Makes the next call of `verb` (on `kind`, if given) throw `error` instead. */
  failNext(verb: Verb, error: unknown, kind?: string): void {
    this.failures.push({ verb, kind, error });
  }

  /** Forgets the writes recorded so far. */
  clearWrites(): void {
    this.writes.length = 0;
  }

  /** Every stored object of a kind, for assertions. */
  all(kind: string): StoredObject[] {
    return [...this.objects.values()].filter((o) => o.kind === kind).map(clone);
  }

  async read<T extends KubernetesObject>(ref: ObjectRef): Promise<StoredObject<T> | undefined> {
    this.maybeFail('read', ref.kind);
    return Promise.resolve(this.get<T>(ref));
  }

  async list<T extends KubernetesObject>(
    apiVersion: string,
    kind: string,
    namespace: string,
    labelSelector: string,
  ): Promise<Array<StoredObject<T>>> {
    this.maybeFail('read', kind);
    const found = [...this.objects.values()].filter(
      (o) =>
        o.apiVersion === apiVersion &&
        o.kind === kind &&
        o.metadata.namespace === namespace &&
        matches(o.metadata.labels, labelSelector),
    );
    return Promise.resolve(found.map((o) => clone(o) as StoredObject<T>));
  }

  async apply<T extends KubernetesObject>(obj: T): Promise<StoredObject<T>> {
    const ref = this.refOf(obj);
    this.record('apply', ref, obj);
    const existing = this.objects.get(this.key(ref));
    if (!existing) return Promise.resolve(this.store(this.fresh(obj)) as StoredObject<T>);
    const next = applyMerge(existing, obj) as StoredObject;
    next.metadata = { ...existing.metadata, ...clone(obj.metadata ?? {}), ...this.identity(existing) };
    return Promise.resolve(this.update(existing, next) as StoredObject<T>);
  }

  async createIfAbsent<T extends KubernetesObject>(obj: T): Promise<StoredObject<T> | undefined> {
    const ref = this.refOf(obj);
    this.record('create', ref, obj);
    if (this.objects.has(this.key(ref))) return Promise.resolve(undefined);
    return Promise.resolve(this.store(this.fresh(obj)) as StoredObject<T>);
  }

  async delete(ref: ObjectRef, _propagationPolicy?: PropagationPolicy): Promise<boolean> {
    this.record('delete', ref);
    const existing = this.objects.get(this.key(ref));
    if (!existing) return Promise.resolve(false);
    if (existing.metadata.finalizers?.length) {
      if (!existing.metadata.deletionTimestamp) {
        const next = clone(existing);
        next.metadata.deletionTimestamp = new Date().toISOString() as unknown as Date;
        this.update(existing, next);
      }
    } else {
      this.objects.delete(this.key(ref));
    }
    return Promise.resolve(true);
  }

  async getCustom<T extends KubernetesObject>(
    type: CustomResourceType,
    namespace: string,
    name: string,
  ): Promise<StoredObject<T> | undefined> {
    return this.read<T>(this.customRef(type, namespace, name));
  }

  async mergePatchCustom<T extends KubernetesObject>(
    type: CustomResourceType,
    namespace: string,
    name: string,
    patch: object,
  ): Promise<StoredObject<T>> {
    const ref = this.customRef(type, namespace, name);
    this.record('patch', ref, patch);
    const existing = this.require(ref);
    const rv = (patch as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
    if (rv !== undefined && rv !== existing.metadata.resourceVersion) {
      throw apiError(
        409,
        'Conflict',
        `the object ${name} has been modified; please apply your changes again`,
      );
    }
    const next = mergePatch(existing, patch) as StoredObject;
    next.metadata = { ...next.metadata, ...this.identity(existing) };
    return Promise.resolve(this.update(existing, next) as StoredObject<T>);
  }

  async replaceCustomStatus<T extends KubernetesObject>(
    type: CustomResourceType,
    namespace: string,
    name: string,
    resourceVersion: string,
    status: object,
  ): Promise<StoredObject<T>> {
    const ref = this.customRef(type, namespace, name);
    this.record('patch-status', ref, status);
    const existing = this.require(ref);
    // As the API server: a custom resource's status is replaced only at the resourceVersion it was read at.
    if (resourceVersion !== existing.metadata.resourceVersion) {
      throw apiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${type.plural}.${type.group} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    const next = { ...clone(existing), status: clone(status) } as StoredObject;
    return Promise.resolve(this.update(existing, next) as StoredObject<T>);
  }

  private customRef(type: CustomResourceType, namespace: string, name: string): ObjectRef {
    return { apiVersion: `${type.group}/${type.version}`, kind: type.kind, namespace, name };
  }

  private key(ref: ObjectRef): string {
    return `${ref.apiVersion}|${ref.kind}|${ref.namespace}|${ref.name}`;
  }

  private refOf(obj: KubernetesObject): ObjectRef {
    const { apiVersion, kind } = obj;
    const { name } = obj.metadata ?? {};
    // A Namespace is the one cluster-scoped kind stored here: its own namespace is ''.
    const namespace = kind === 'Namespace' ? '' : obj.metadata?.namespace;
    if (!apiVersion || !kind || (!namespace && kind !== 'Namespace') || !name) {
      throw apiError(422, 'Invalid', 'apiVersion, kind, metadata.namespace and metadata.name are required');
    }
    return { apiVersion, kind, namespace: namespace ?? '', name };
  }

  private require(ref: ObjectRef): StoredObject {
    const existing = this.objects.get(this.key(ref));
    if (!existing) throw apiError(404, 'NotFound', `${ref.kind} ${ref.namespace}/${ref.name} not found`);
    return existing;
  }

  /** What the API server owns and a write cannot change. */
  private identity(existing: StoredObject) {
    const m = existing.metadata;
    return {
      uid: m.uid,
      creationTimestamp: m.creationTimestamp,
      generation: m.generation,
      resourceVersion: m.resourceVersion,
      ...(m.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp } : {}),
    };
  }

  private fresh(obj: KubernetesObject): StoredObject {
    const ref = this.refOf(obj);
    const copy = clone(obj) as StoredObject;
    copy.metadata = {
      ...copy.metadata,
      namespace: ref.namespace,
      name: ref.name,
      uid: copy.metadata.uid ?? randomUUID(),
      generation: copy.metadata.generation ?? 1,
      creationTimestamp: copy.metadata.creationTimestamp ?? (new Date().toISOString() as unknown as Date),
    };
    return copy;
  }

  /** Stores `next` in place of `existing`: a new resourceVersion if anything changed, a new generation if the spec did. */
  private update(existing: StoredObject, next: StoredObject): StoredObject {
    const unchanged = same(existing, next);
    if (unchanged) return clone(existing);
    if (!same((existing as { spec?: unknown }).spec, (next as { spec?: unknown }).spec)) {
      next.metadata.generation = (existing.metadata.generation ?? 0) + 1;
    }
    if (next.metadata.deletionTimestamp && !next.metadata.finalizers?.length) {
      this.objects.delete(this.key(this.refOf(next)));
      return clone(next);
    }
    return this.store(next);
  }

  private store(obj: StoredObject): StoredObject {
    obj.metadata.resourceVersion = String(++this.version);
    this.objects.set(this.key(this.refOf(obj)), clone(obj));
    return clone(obj);
  }

  private record(verb: KubeWrite['verb'], ref: ObjectRef, body?: unknown): void {
    this.maybeFail(verb, ref.kind);
    this.writes.push({ verb, ...ref, ...(body === undefined ? {} : { body: clone(body) }) });
  }

  private maybeFail(verb: Verb, kind: string): void {
    const i = this.failures.findIndex((f) => f.verb === verb && (!f.kind || f.kind === kind));
    if (i < 0) return;
    const [failure] = this.failures.splice(i, 1);
    throw failure?.error;
  }
}

/** Errors as the API server sends them, for failNext. */
export const kubeErrors = {
  conflict: (message = 'the object has been modified') => apiError(409, 'Conflict', message),
  notFound: (message = 'not found') => apiError(404, 'NotFound', message),
  unavailable: (message = 'the server is currently unable to handle the request') =>
    apiError(503, 'ServiceUnavailable', message),
  forbidden: (message = 'forbidden') => apiError(403, 'Forbidden', message),
};
