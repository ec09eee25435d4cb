import type { Logger } from 'pino';
import type { IniDocument } from '../config/ini.js';
import { amqpConnector, type Connector, type OutgoingMessage } from './broker-link.js';
import { enabledFilter, type EventFilter } from './disabled.js';
import { buildMessage, encodeBody, routingKey, type EnvelopeVersion, type Priority } from './envelope.js';
import type { PyJson } from './py-json.js';
import { Sender } from './sender.js';
import { notifySettings, type NotifySettings } from './settings.js';
import { describeHost } from './transport-url.js';

// What the routes and services call: notify(eventType, payload) as glance/notifier.py's Notifier.info/error,
// filtered by disabled_notifications, handed to every configured driver. It returns at once and never throws.

export interface NotifyOptions {
  /** INFO unless upstream sends the event at another priority (image.upload failures, short image.send: ERROR). */
  priority?: Priority;
  /**
   * Skip disabled_notifications. Only for the one call upstream makes without the filter: the image.send that
   * glance/api/common.py sends for downloads served by the cache middleware.
   */
  unfiltered?: boolean;
}

export interface NotifierStats {
  buffered: number;
  capacity: number;
  dropped: number;
  sent: number;
  connected: boolean;
}

export interface Notifier {
  /**
   * Synchronous, never throws, never waits for the broker. A payload given as a function is built only when the
   * event is sent at all.
   */
  notify(eventType: string, payload: PyJson | (() => PyJson), options?: NotifyOptions): void;
  /** Whether an event type would be sent at all: lets a caller skip building a costly payload. */
  enabled(eventType: string): boolean;
  stats(): NotifierStats;
  /** Sends what is buffered for at most `timeoutMs`, then disconnects. */
  close(timeoutMs?: number): Promise<void>;
}

const IDLE_STATS: NotifierStats = { buffered: 0, capacity: 0, dropped: 0, sent: 0, connected: false };

/** Notifications off: `driver = noop`, or no driver configured (upstream's default). */
export const noopNotifier: Notifier = Object.freeze({
  notify: () => undefined,
  enabled: () => false,
  stats: () => ({ ...IDLE_STATS }),
  close: async () => undefined,
});

export interface NotifierTuning {
  /** Buffered messages while the broker is away (one per topic per event). Default 10000. */
  capacity?: number;
  /** Messages per publish-and-confirm round. Default 100. */
  batchSize?: number;
  /** Bound on connecting and on waiting for confirms. Default 10 s. */
  timeoutMs?: number;
  /** Default flush time for close(). Default 5 s. */
  closeTimeoutMs?: number;
  /** Replaces the amqplib connector (tests). */
  connector?: Connector;
}

/** Sink for one driver: gets the message once per event, already filtered. */
interface DriverSink {
  deliver(eventType: string, payload: PyJson, priority: Priority): void;
}

const LOG_LEVEL: Record<Priority, 'debug' | 'info' | 'warn' | 'error' | 'fatal'> = {
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
  CRITICAL: 'fatal',
  // The log driver finds no logger method for these and warns instead.
  AUDIT: 'warn',
  SAMPLE: 'warn',
};

function logSink(settings: NotifySettings, logger: Logger): DriverSink {
  return {
    deliver(eventType, payload, priority) {
      // oslo's log driver logs the whole message on logger "oslo.messaging.notification.<event_type>".
      const message = buildMessage(settings.publisherId, eventType, priority, payload);
      logger[LOG_LEVEL[priority]]({
        logger: `oslo.messaging.notification.${eventType}`,
        notification: message,
      });
    },
  };
}

function messagingSink(settings: NotifySettings, version: EnvelopeVersion, sender: Sender): DriverSink {
  return {
    deliver(eventType, payload, priority) {
      // Serialised now, so a caller that changes its objects afterwards cannot change what is sent; one message id
      // and timestamp for the event, one message (with its own _unique_id) per topic, as MessagingDriver.notify.
      const message = buildMessage(settings.publisherId, eventType, priority, payload);
      const out: OutgoingMessage[] = settings.topics.map((topic) => ({
        routingKey: routingKey(topic, priority),
        body: encodeBody(message, version),
      }));
      sender.enqueue(out);
    },
  };
}

/** Builds the notifier from parsed settings; `notifierFromConfig` is the usual entry point. */
export function createNotifier(
  settings: NotifySettings,
  logger: Logger,
  tuning: NotifierTuning = {},
): Notifier {
  if (settings.drivers.length === 0 || settings.drivers.every((d) => d === 'noop')) return noopNotifier;
  const log = logger.child({ component: 'notifier' });
  let sender: Sender | undefined;
  const sinks: DriverSink[] = [];
  for (const driver of settings.drivers) {
    if (driver === 'noop') continue;
    if (driver === 'log') {
      sinks.push(logSink(settings, log));
      continue;
    }
    sender ??= new Sender({
      exchange: settings.exchange,
      transport: settings.transport,
      link: {
        heartbeatSeconds: settings.rabbit.heartbeatSeconds,
        loginMethod: settings.rabbit.loginMethod,
        queue: settings.rabbit.queue,
        timeoutMs: tuning.timeoutMs ?? 10_000,
      },
      capacity: tuning.capacity ?? 10_000,
      batchSize: tuning.batchSize ?? 100,
      backoffMs: { initial: settings.rabbit.retryIntervalMs, max: settings.rabbit.retryIntervalMaxMs },
      retry: settings.retry,
      failover: settings.rabbit.failover,
      connector: tuning.connector ?? amqpConnector,
      logger: log,
    });
    sinks.push(messagingSink(settings, driver === 'messaging' ? 1 : 2, sender));
  }
  if (sender)
    log.info(
      {
        brokers: settings.transport.hosts.map(describeHost),
        exchange: settings.exchange,
        topics: settings.topics,
        drivers: settings.drivers,
      },
      'publishing notifications',
    );

  const isEnabled: EventFilter = enabledFilter(settings.disabled);
  const closeTimeout = tuning.closeTimeoutMs ?? 5_000;
  return {
    notify(eventType, payload, options = {}) {
      if (!options.unfiltered && !isEnabled(eventType)) return;
      const priority = options.priority ?? 'INFO';
      let built: PyJson;
      try {
        built = typeof payload === 'function' ? payload() : payload;
      } catch (error) {
        log.error(
          { err: error instanceof Error ? error.message : String(error), eventType },
          'notification not sent',
        );
        return;
      }
      for (const sink of sinks) {
        try {
          sink.deliver(eventType, built, priority);
        } catch (error) {
          // A notification must never fail the request that caused it (upstream logs and carries on too).
          log.error(
            { err: error instanceof Error ? error.message : String(error), eventType },
            'notification not sent',
          );
        }
      }
    },
    enabled: (eventType) => isEnabled(eventType),
    stats: () => (sender ? sender.stats() : { ...IDLE_STATS }),
    close: async (timeoutMs = closeTimeout) => {
      await sender?.close(timeoutMs);
    },
  };
}

/**
 * The notifier the configuration asks for. Throws ConfigError (at start) for options we cannot honour: a driver
 * other than messagingv2/messaging/log/noop, ssl = true, compression, a non-rabbit transport URL.
 */
export function notifierFromConfig(doc: IniDocument, logger: Logger, tuning: NotifierTuning = {}): Notifier {
  return createNotifier(notifySettings(doc), logger, tuning);
}
