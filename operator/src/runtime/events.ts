import { randomBytes } from 'node:crypto';
import { V1MicroTime, type EventsV1Event } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { KubeApiClient } from './kube-client.js';
import { describeKubeError } from './kube-errors.js';
import { NotLeaderError } from './write-fence.js';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
}

export type EventType = 'Normal' | 'Warning';

/** The object an Event is about, as read from the API server. */
export function eventTarget(obj: {
  apiVersion: string;
  kind: string;
  metadata: { namespace: string; name: string; uid?: string };
}): EventTarget {
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    namespace: obj.metadata.namespace,
    name: obj.metadata.name,
    uid: obj.metadata.uid,
  };
}

/** Where reconcilers record Events: a notice to people, whose failure never fails a reconcile. */
export interface EventRecorder {
  record(target: EventTarget, type: EventType, reason: string, note: string, action?: string): Promise<void>;
}

/**
 * Records events.k8s.io/v1 Events. An Event is a notice to people, so a failure to record one is logged and
 * never fails the reconcile that produced it.
 */
export class KubeEventRecorder implements EventRecorder {
  constructor(
    private readonly kube: KubeApiClient,
    private readonly controller: string,
    private readonly instance: string,
    private readonly log: Logger,
  ) {}

  async record(
    target: EventTarget,
    type: EventType,
    reason: string,
    note: string,
    action = 'Reconcile',
  ): Promise<void> {
    const body: EventsV1Event = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: {
        name: `${target.name}.${Date.now().toString(16)}${randomBytes(4).toString('hex')}`,
        namespace: target.namespace,
      },
      eventTime: new V1MicroTime(),
      reportingController: this.controller,
      reportingInstance: this.instance,
      action,
      reason,
      // The API server rejects notes over 1 kB.
      note: note.length > 1024 ? `${note.slice(0, 1021)}...` : note,
      type,
      regarding: {
        apiVersion: target.apiVersion,
        kind: target.kind,
        namespace: target.namespace,
        name: target.name,
        ...(target.uid ? { uid: target.uid } : {}),
      },
    };
    this.log.info({ event: { type, reason, object: `${target.namespace}/${target.name}` } }, note);
    try {
      this.kube.admitWrite('create', 'Event');
      await this.kube.events.createNamespacedEvent({ namespace: target.namespace, body });
    } catch (err) {
      if (err instanceof NotLeaderError) return;
      this.log.warn({ reason, err: describeKubeError(err) }, 'could not record an Event');
    }
  }
}
