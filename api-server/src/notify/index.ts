// Notifications to RabbitMQ as upstream Glance 25 sends them (oslo.messaging messagingv2). Build one Notifier at
// start with notifierFromConfig, call notify() with a payload from payloads.ts where upstream emits the event,
// and close() it on shutdown.
export {
  notifierFromConfig,
  createNotifier,
  noopNotifier,
  type Notifier,
  type NotifierStats,
  type NotifierTuning,
  type NotifyOptions,
} from './notifier.js';
export { notifySettings, type NotifySettings } from './settings.js';
export { enabledFilter } from './disabled.js';
export type { Priority } from './envelope.js';
export type { PyJson } from './py-json.js';
export * from './payloads.js';
export { compareEventSequences, eventShape, type ObservedEvent, type EventShape } from './compare-events.js';
