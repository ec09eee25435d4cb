import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { ObjectKey, Reconcile, ReconcileResult } from './controller.js';
import { addFinalizer, hasFinalizer, removeFinalizer } from './finalizers.js';
import type { CustomResourceType, KubeClient, StoredObject } from './kube-client.js';

/** Ends a pass early: the status already says why, and the controller runs the object again after `result`. */
export class Halt {
  constructor(readonly result: ReconcileResult) {}
}

/**
 * One resource outside Kubernetes managed for one object, in the shape of ORC's actuators: found by what the
 * status recorded, else adopted, else created; then brought to the spec. An actuator lives for one pass.
 */
export interface Actuator<R> {
  /** The resource the status records, if it still exists. */
  get(): Promise<R | undefined>;
  /** The existing resource the spec asks to adopt; undefined when it asks for none, a Halt when none matches. */
  adopt(): Promise<R | Halt | undefined>;
  create(): Promise<R>;
  /** Brings the resource to the spec and reports it in the status. */
  update(resource: R): Promise<ReconcileResult>;
  /** Reports a failure of the pass in the status: terminal ones stall, others are thrown for a retry. */
  failed(err: unknown): Promise<ReconcileResult>;
}

/** What the generic reconcile needs to know of one kind of object. */
export interface ResourceHandler<T extends KubernetesObject, S, R> {
  readonly type: CustomResourceType;
  readonly finalizer: string;
  parse(obj: StoredObject<T>): { spec: S } | { error: string };
  /** Reports a spec the schema let through but the operator refuses; the object waits for a new spec. */
  invalidSpec(obj: StoredObject<T>, message: string): Promise<ReconcileResult>;
  /**
   * The actuator of one pass: credentials read, sessions opened. A failure here is reported by `openFailed`,
   * and no finalizer is added before it succeeds: an object that never got this far has nothing to clean up.
   */
  open(obj: StoredObject<T>, spec: S, log: Logger): Promise<Actuator<R>>;
  openFailed(obj: StoredObject<T>, err: unknown, log: Logger): Promise<ReconcileResult>;
  /** Stops whatever runs for a deleted object beside the reconciles. */
  release?(obj: StoredObject<T>): void;
  /**
   * Removes (or, by the deletion policy, leaves) what the object manages: undefined once done, then the
   * finalizer goes; a result when the object must wait, its status saying why.
   */
  delete(obj: StoredObject<T>, log: Logger): Promise<ReconcileResult | undefined>;
}

/**
 * The reconcile of an object managing one outside resource, after ORC's generic controller: a deleted object
 * is cleaned up and let go; otherwise the spec is parsed, the actuator opened, the finalizer added, and the
 * resource found, adopted or created, then updated.
 */
export function reconcileResource<T extends KubernetesObject, S, R>(
  kube: KubeClient,
  handler: ResourceHandler<T, S, R>,
): Reconcile {
  return async (key: ObjectKey, log: Logger): Promise<ReconcileResult> => {
    // Read fresh rather than from the informer's cache: a stale copy would redo writes just made.
    const obj = await kube.getCustom<T>(handler.type, key.namespace, key.name);
    if (!obj) return {};
    if (obj.metadata.deletionTimestamp) {
      handler.release?.(obj);
      if (!hasFinalizer(obj, handler.finalizer)) return {};
      const waiting = await handler.delete(obj, log);
      if (waiting) return waiting;
      await removeFinalizer(kube, handler.type, obj, handler.finalizer);
      return {};
    }
    const parsed = handler.parse(obj);
    if ('error' in parsed) return handler.invalidSpec(obj, parsed.error);
    let actuator: Actuator<R>;
    try {
      actuator = await handler.open(obj, parsed.spec, log);
    } catch (err) {
      return handler.openFailed(obj, err, log);
    }
    try {
      await addFinalizer(kube, handler.type, obj, handler.finalizer);
      let resource = await actuator.get();
      if (resource === undefined) {
        const adopted = await actuator.adopt();
        if (adopted instanceof Halt) return adopted.result;
        resource = adopted ?? (await actuator.create());
      }
      return await actuator.update(resource);
    } catch (err) {
      return actuator.failed(err);
    }
  };
}
