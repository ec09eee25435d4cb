import { randomBytes } from 'node:crypto';
import { ApiException, V1MicroTime, type EventsV1Event } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { KubeApiClient } from './kube-client.js';
import { describeKubeError, kubeStatusCode } from './kube-errors.js';
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
      note: clip(note),
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
      await this.create(body);
    } catch (err) {
      if (err instanceof NotLeaderError) return;
      // A namespace being deleted takes no new object, Events included; a Warning must still reach someone, so
      // it is told about the Namespace (a cluster object, whose Events live in `default`).
      if (type === 'Warning' && namespaceTerminating(err)) {
        await this.create({
          ...body,
          metadata: { ...body.metadata, namespace: 'default' },
          note: clip(`${target.kind} ${target.namespace}/${target.name}: ${note}`),
          regarding: { apiVersion: 'v1', kind: 'Namespace', name: target.namespace },
        }).catch((again: unknown) => {
          this.log.warn({ reason, err: describeKubeError(again) }, 'could not record an Event');
        });
        return;
      }
      this.log.warn({ reason, err: describeKubeError(err) }, 'could not record an Event');
    }
  }

  private async create(body: EventsV1Event): Promise<void> {
    this.kube.admitWrite('create', 'Event');
    await this.kube.events.createNamespacedEvent({ namespace: body.metadata?.namespace ?? '', body });
  }
}

// The API server rejects notes over 1 kB.
const clip = (note: string) => (note.length > 1024 ? `${note.slice(0, 1021)}...` : note);

/** The API server's refusal of a new object in a namespace being deleted (403, cause NamespaceTerminating). */
function namespaceTerminating(err: unknown): boolean {
  if (kubeStatusCode(err) !== 403 || !(err instanceof ApiException)) return false;
  const body: unknown = err.body;
  const text = typeof body === 'string' ? body : JSON.stringify(body ?? '');
  return text.includes('NamespaceTerminating') || text.includes('because it is being terminated');
}
