import {
  enabledFilter,
  type Notifier,
  type NotifyOptions,
  type PyJson,
} from '../../api-server/src/notify/index.js';

export interface SentNotification {
  eventType: string;
  payload: PyJson;
  options?: NotifyOptions;
}

/**
 * A Notifier that records what would be published, filtered by `disabled` (events or groups) with the real
 * disabled_notifications filter, payloads built as the real one builds them.
 */
export function recordingNotifier(disabled: string[] = []): { notifier: Notifier; sent: SentNotification[] } {
  const sent: SentNotification[] = [];
  const enabled = enabledFilter(disabled);
  const notifier: Notifier = {
    notify: (eventType, payload, options) => {
      if (!options?.unfiltered && !enabled(eventType)) return;
      sent.push({ eventType, payload: typeof payload === 'function' ? payload() : payload, options });
    },
    enabled,
    stats: () => ({ buffered: 0, capacity: 0, dropped: 0, sent: 0, connected: false }),
    close: async () => undefined,
  };
  return { notifier, sent };
}
