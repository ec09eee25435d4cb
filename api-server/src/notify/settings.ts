import { z } from 'zod';
import { ConfigError } from '../config/errors.js';
import type { IniDocument, IniEntry } from '../config/ini.js';
import { isSecretKey } from '../config/known-options.js';
import { SubstitutionError, substitute } from '../config/substitute.js';
import { bool, int, list, optionalStr } from '../config/values.js';
import { parseTransportUrl, TransportUrlError, type TransportTarget } from './transport-url.js';

// The notification options Glance 25 reads (glance/notifier.py, oslo_messaging/notify/notifier.py,
// oslo_messaging/transport.py, oslo_messaging/_drivers/impl_rabbit.py and amqp.py), with their upstream defaults.
// The project's rule: an option upstream honours is honoured here or refused at start, never accepted and ignored.

/** What the notifier does with a message: the drivers upstream offers that we can honour. */
export type DriverKind = 'noop' | 'messaging' | 'messagingv2' | 'log';

export interface QueueDeclaration {
  durable: boolean;
  autoDelete: boolean;
  arguments: Record<string, unknown>;
}

export interface RabbitSettings {
  /** heartbeat_timeout_threshold in seconds; 0 turns heartbeats off. */
  heartbeatSeconds: number;
  /** rabbit_retry_interval and rabbit_interval_max, in milliseconds: the first and the longest wait between attempts. */
  retryIntervalMs: number;
  retryIntervalMaxMs: number;
  /** kombu_failover_strategy: the order in which several hosts are tried. */
  failover: 'round-robin' | 'shuffle';
  /** rabbit_login_method as amqplib names its mechanisms. */
  loginMethod: 'PLAIN' | 'AMQPLAIN';
  /** How the exchange and the default queue per routing key are declared (durable, auto_delete, HA/quorum). */
  queue: QueueDeclaration;
}

export interface NotifySettings {
  drivers: DriverKind[];
  topics: string[];
  /** The transport URL as configured, secret: never log it (see redactTransportUrl). */
  transportUrl: string;
  transport: TransportTarget;
  /** control_exchange, which Glance defaults to "glance": the exchange notifications are published to. */
  exchange: string;
  publisherId: string;
  disabled: string[];
  /** [oslo_messaging_notifications] retry: -1 keeps a message until the broker takes it, N gives up after N retries. */
  retry: number;
  rabbit: RabbitSettings;
}

const SUPPORTED_DRIVERS: ReadonlySet<string> = new Set(['noop', 'messaging', 'messagingv2', 'log']);

type Section = 'DEFAULT' | 'oslo_messaging_notifications' | 'oslo_messaging_rabbit';

export function notifySettings(doc: IniDocument): NotifySettings {
  const problems: string[] = [];
  const entry = (section: Section, key: string): IniEntry | undefined => doc.get(section)?.get(key);
  const where = (section: Section, key: string): string =>
    `${entry(section, key)?.source ?? '<default>'}:${section}:${key}`;

  /**
   * Reads one option as oslo.config does ($name and ${group.name} expanded, $$ a literal $) through its zod schema;
   * a bad value is a problem that names the option, never its value.
   */
  function read<T>(section: Section, key: string, schema: z.ZodType<T>, fallback: T): T {
    const found = entry(section, key);
    if (found === undefined) return fallback;
    let value: string;
    try {
      value = substitute(found.value, section, doc);
    } catch (error) {
      if (!(error instanceof SubstitutionError)) throw error;
      // The reference of a secret (a transport URL's password) would quote part of it.
      const why = isSecretKey(key) ? 'has a $ reference that cannot be resolved' : error.message;
      problems.push(`${where(section, key)}: ${why} (write $$ for a literal $)`);
      return fallback;
    }
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    problems.push(`${where(section, key)}: ${result.error.issues.map((i) => i.message).join('; ')}`);
    return fallback;
  }

  /** An option with a deprecated name in another group: oslo.config takes the new name when both are set. */
  function readRenamed<T>(
    section: Section,
    key: string,
    old: [Section, string],
    schema: z.ZodType<T>,
    fallback: T,
  ): { value: T; at: [Section, string] } {
    if (entry(section, key) !== undefined)
      return { value: read(section, key, schema, fallback), at: [section, key] };
    if (entry(old[0], old[1]) !== undefined)
      return { value: read(old[0], old[1], schema, fallback), at: old };
    return { value: fallback, at: [section, key] };
  }

  const nonEmpty = z.string().transform((text) => text.trim());

  // driver is a MultiStrOpt whose default is no driver at all: Glance then sends nothing, like noop.
  const driverOpt = readRenamed(
    'oslo_messaging_notifications',
    'driver',
    ['DEFAULT', 'notification_driver'],
    nonEmpty,
    '',
  );
  const drivers: DriverKind[] = [];
  if (driverOpt.value !== '') {
    if (SUPPORTED_DRIVERS.has(driverOpt.value)) drivers.push(driverOpt.value as DriverKind);
    else
      problems.push(
        `${where(...driverOpt.at)}: driver "${driverOpt.value}" is not supported; use messagingv2, messaging, log ` +
          'or noop (routing and test are not implemented)',
      );
  }

  const topics = readRenamed(
    'oslo_messaging_notifications',
    'topics',
    ['DEFAULT', 'notification_topics'],
    list(z.string().min(1, 'topics must not be empty')),
    ['notifications'],
  );
  if (topics.value.length === 0 && drivers.some((d) => d === 'messaging' || d === 'messagingv2'))
    problems.push(`${where(...topics.at)}: names no topic, so nothing would be published`);

  // The notification transport falls back to the RPC transport, and that to oslo.messaging's default rabbit://.
  const notificationUrl = readRenamed(
    'oslo_messaging_notifications',
    'transport_url',
    ['DEFAULT', 'notification_transport_url'],
    optionalStr,
    null,
  );
  const defaultUrl = read('DEFAULT', 'transport_url', optionalStr, null);
  const transportUrl = notificationUrl.value ?? defaultUrl ?? 'rabbit://';
  const urlAt: [Section, string] =
    notificationUrl.value !== null ? notificationUrl.at : ['DEFAULT', 'transport_url'];
  let transport: TransportTarget = { hosts: [], vhost: '/' };
  const usesBroker = drivers.some((d) => d === 'messaging' || d === 'messagingv2');
  try {
    transport = parseTransportUrl(transportUrl);
  } catch (error) {
    // Only a broker driver needs the URL; upstream parses it lazily too, so a log or noop setup still loads.
    if (!(error instanceof TransportUrlError)) throw error;
    if (usesBroker) problems.push(`${where(...urlAt)}: ${error.message}`);
  }

  // The exchange is control_exchange (glance/notifier.py set_defaults makes it "glance"). The install guide's
  // [oslo_messaging_rabbit] default_notification_exchange is an option of the AMQP 1.0 driver only
  // (oslo_messaging/_drivers/amqp1_driver/opts.py): the rabbit driver never reads it, and neither do we.
  const exchange = read('DEFAULT', 'control_exchange', nonEmpty, 'glance') || 'glance';
  const publisherId = read('DEFAULT', 'default_publisher_id', z.string(), 'image.localhost');
  const disabled = read('DEFAULT', 'disabled_notifications', list(z.string()), []).filter((n) => n !== '');
  const retry = read('oslo_messaging_notifications', 'retry', int({}, -1), -1);

  const R = 'oslo_messaging_rabbit';
  if (read(R, 'ssl', bool, false))
    problems.push(
      `${where(R, 'ssl')}: TLS to RabbitMQ is not implemented; use a plain AMQP listener (ssl = false)`,
    );
  const compression = read(R, 'kombu_compression', optionalStr, null);
  if (compression !== null)
    problems.push(
      `${where(R, 'kombu_compression')}: compressed messages are not implemented; leave it unset`,
    );
  const loginRaw = read(R, 'rabbit_login_method', optionalStr, null);
  let loginMethod: RabbitSettings['loginMethod'] = 'AMQPLAIN';
  if (loginRaw === 'PLAIN' || loginRaw === 'AMQPLAIN') loginMethod = loginRaw;
  else if (loginRaw !== null)
    problems.push(`${where(R, 'rabbit_login_method')}: only PLAIN and AMQPLAIN are supported`);
  const failoverRaw = read(R, 'kombu_failover_strategy', nonEmpty, 'round-robin');
  let failover: RabbitSettings['failover'] = 'round-robin';
  if (failoverRaw === 'shuffle' || failoverRaw === 'round-robin') failover = failoverRaw;
  else problems.push(`${where(R, 'kombu_failover_strategy')}: must be round-robin or shuffle`);

  // Options of the rabbit driver that only concern RPC or consumers (rabbit_qos_prefetch_count,
  // rabbit_transient_queues_ttl, direct_mandatory_flag, enable_cancel_on_failover, ...) or its own threading
  // (heartbeat_rate, heartbeat_in_pthread, kombu_reconnect_delay) change nothing a publisher of notifications does.
  // ssl_* options only matter with ssl = true, which is refused above.
  const heartbeatSeconds = read(R, 'heartbeat_timeout_threshold', int({ min: 0 }, 60), 60);
  // Upstream waits rabbit_retry_interval, then grows the wait by rabbit_retry_backoff up to rabbit_interval_max;
  // we start and cap alike but double the wait, so a long outage costs fewer attempts. The step is not read.
  const retryInterval = read(R, 'rabbit_retry_interval', int({ min: 1 }, 1), 1);
  const intervalMax = read(R, 'rabbit_interval_max', int({ min: 1 }, 30), 30);

  // Exchange and default-queue declaration arguments (impl_rabbit.py notify_send, _get_queue_arguments): a queue
  // declared with other arguments than the broker already holds would be refused, so these must match upstream.
  const quorum = read(R, 'rabbit_quorum_queue', bool, false);
  const ha = read(R, 'rabbit_ha_queues', bool, false);
  if (quorum && ha)
    problems.push(`${where(R, 'rabbit_quorum_queue')}: cannot be set together with rabbit_ha_queues`);
  const args: Record<string, unknown> = {};
  if (ha) args['x-ha-policy'] = 'all';
  if (quorum) {
    args['x-queue-type'] = 'quorum';
    const limit = read(R, 'rabbit_quorum_delivery_limit', int({ min: 0 }, 0), 0);
    if (limit) args['x-delivery-limit'] = limit;
    // Upstream's option names carry its typo ("quroum").
    const maxLength = read(R, 'rabbit_quroum_max_memory_length', int({ min: 0 }, 0), 0);
    if (maxLength) args['x-max-in-memory-length'] = maxLength;
    const maxBytes = read(R, 'rabbit_quroum_max_memory_bytes', int({ min: 0 }, 0), 0);
    if (maxBytes) args['x-max-in-memory-bytes'] = maxBytes;
  }
  const queue: QueueDeclaration = {
    durable: read(R, 'amqp_durable_queues', bool, false) || quorum,
    autoDelete: readRenamed(R, 'amqp_auto_delete', ['DEFAULT', 'amqp_auto_delete'], bool, false).value,
    arguments: args,
  };

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    drivers,
    topics: topics.value,
    transportUrl,
    transport,
    exchange,
    publisherId,
    disabled,
    retry,
    rabbit: {
      heartbeatSeconds,
      retryIntervalMs: retryInterval * 1000,
      retryIntervalMaxMs: Math.max(intervalMax, retryInterval) * 1000,
      failover,
      loginMethod,
      queue,
    },
  };
}
