import amqp from 'amqplib';
import type { QueueDeclaration } from './settings.js';
import { describeHost, type BrokerHost } from './transport-url.js';
import { PUBLISH_OPTIONS } from './envelope.js';

// The one place that speaks AMQP 0-9-1 (through amqplib): connect to one broker host, declare what oslo.messaging's
// rabbit driver declares, publish on a confirm channel. The sender drives it through the BrokerLink interface so
// its buffering and reconnecting can be tested with a fake.

export interface OutgoingMessage {
  routingKey: string;
  body: Buffer;
}

export interface BrokerLink {
  /** Publishes the messages in order and resolves when the broker has confirmed all of them. */
  publish(exchange: string, messages: readonly OutgoingMessage[]): Promise<void>;
  /** Resolves or rejects when the link is gone (broker closed it, socket dropped, heartbeat missed). */
  readonly closed: Promise<Error | undefined>;
  close(): Promise<void>;
}

export interface LinkOptions {
  vhost: string;
  heartbeatSeconds: number;
  loginMethod: 'PLAIN' | 'AMQPLAIN';
  queue: QueueDeclaration;
  /** Bound on connecting (TCP and AMQP handshake) and on waiting for confirms. */
  timeoutMs: number;
}

export type Connector = (host: BrokerHost, options: LinkOptions) => Promise<BrokerLink>;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const amqpConnector: Connector = async (host, options) => {
  const credentials =
    options.loginMethod === 'PLAIN'
      ? amqp.credentials.plain(host.username, host.password)
      : amqp.credentials.amqplain(host.username, host.password);
  const connecting = amqp.connect(
    {
      protocol: 'amqp',
      hostname: host.hostname,
      port: host.port,
      username: host.username,
      password: host.password,
      vhost: options.vhost,
      heartbeat: options.heartbeatSeconds,
    },
    {
      credentials,
      timeout: options.timeoutMs,
      noDelay: true,
      clientProperties: { connection_name: 'glance-api notifier' },
    },
  );
  let abandoned = false;
  // A connect that finishes after we gave up must not leak a connection.
  connecting.then(
    (late) => {
      if (abandoned) void late.close().catch(() => undefined);
    },
    () => undefined,
  );
  let connection: amqp.ChannelModel;
  try {
    connection = await withTimeout(connecting, options.timeoutMs, `connecting to ${describeHost(host)}`);
  } catch (error) {
    abandoned = true;
    throw error;
  }

  let resolveClosed!: (error: Error | undefined) => void;
  const closed = new Promise<Error | undefined>((resolve) => (resolveClosed = resolve));
  // Both events must have listeners: an unhandled 'error' would take the process down.
  connection.on('error', (error: Error) => resolveClosed(error));
  connection.on('close', (error?: Error) => resolveClosed(error ?? new Error('connection closed')));
  // A broker under a memory or disk alarm blocks publishers; confirms then time out and the sender reconnects.
  connection.on('blocked', () => undefined);

  try {
    const channel = await withTimeout(
      connection.createConfirmChannel(),
      options.timeoutMs,
      'opening a channel',
    );
    channel.on('error', (error: Error) => resolveClosed(error));
    channel.on('close', () => resolveClosed(new Error('channel closed')));

    const declaredExchanges = new Set<string>();
    const declaredQueues = new Set<string>();
    const { durable, autoDelete, arguments: args } = options.queue;

    const link: BrokerLink = {
      closed,
      async publish(exchange, messages) {
        // Declared once per connection, as Connection._publish and _publish_and_creates_default_queue do: the
        // exchange as a non-durable topic exchange by default, and a queue named after each routing key bound to it,
        // so notifications published before any consumer binds are kept for the first one.
        if (!declaredExchanges.has(exchange)) {
          await withTimeout(
            channel.assertExchange(exchange, 'topic', { durable, autoDelete }),
            options.timeoutMs,
            'declaring the exchange',
          );
          declaredExchanges.add(exchange);
        }
        for (const key of new Set(messages.map((m) => m.routingKey))) {
          const id = `${exchange}\0${key}`;
          if (declaredQueues.has(id)) continue;
          await withTimeout(
            (async () => {
              await channel.assertQueue(key, { durable, autoDelete, arguments: args });
              await channel.bindQueue(key, exchange, key);
            })(),
            options.timeoutMs,
            'declaring the default queue',
          );
          declaredQueues.add(id);
        }
        for (const message of messages) {
          const room = channel.publish(exchange, message.routingKey, message.body, {
            ...PUBLISH_OPTIONS,
            headers: {},
          });
          if (!room)
            await withTimeout(
              new Promise((r) => channel.once('drain', r)),
              options.timeoutMs,
              'waiting to write',
            );
        }
        await withTimeout(channel.waitForConfirms(), options.timeoutMs, 'waiting for the broker to confirm');
      },
      async close() {
        await connection.close().catch(() => undefined);
      },
    };
    return link;
  } catch (error) {
    await connection.close().catch(() => undefined);
    throw error;
  }
};
