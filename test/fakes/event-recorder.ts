import type { EventRecorder, EventTarget, EventType } from '../../operator/src/runtime/events.js';

export interface RecordedEvent {
  target: EventTarget;
  type: EventType;
  reason: string;
  note: string;
  action: string;
}

/** Keeps the Events a reconciler records, in order, for assertions. */
export class FakeEventRecorder implements EventRecorder {
  readonly events: RecordedEvent[] = [];

  record(
    target: EventTarget,
    type: EventType,
    reason: string,
    note: string,
    action = 'Reconcile',
  ): Promise<void> {
    this.events.push({ target, type, reason, note, action });
    return Promise.resolve();
  }

  /** The reasons recorded so far, in order. */
  reasons(): string[] {
    return this.events.map((e) => e.reason);
  }

  /** The first Event with `reason`, if any. */
  find(reason: string): RecordedEvent | undefined {
    return this.events.find((e) => e.reason === reason);
  }

  clear(): void {
    this.events.length = 0;
  }
}
