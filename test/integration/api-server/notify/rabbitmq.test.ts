import { randomUUID } from 'node:crypto';
import net from 'node:net';
import amqp from 'amqplib';
import { pino } from 'pino';
import { readIni } from '../../../../api-server/src/config/ini.js';
import { notifierFromConfig, type Notifier } from '../../../../api-server/src/notify/index.js';
import { stackValue } from '../../../harness/stack-env.js';
import { Relay, transportUrlVia } from './relay.js';

interface Received {
  exchange: string;
  routingKey: string;
  properties: amqp.MessageProperties;
  envelope: Record<string, unknown>;
  message: {
    message_id: string;
    publisher_id: string;
    event_type: string;
    priority: string;
    payload: { probe?: string; n?: number };
  };
}

function notifierFor(transportUrl: string, topic: string, extra = ''): Notifier {
  const { doc, problems } = readIni(
    `[DEFAULT]
transport_url = ${transportUrl}
[oslo_messaging_notifications]
driver = messagingv2
topics = ${topic}
[oslo_messaging_rabbit]
default_notification_exchange = glance
rabbit_retry_interval = 1
rabbit_interval_max = 2
${extra}
`,
    'glance-api.conf',
  );
  expect(problems).toEqual([]);
  return notifierFromConfig(doc, pino({ level: 'silent' }), {
    capacity: 20,
    timeoutMs: 3000,
    closeTimeoutMs: 3000,
  });
}

describe('notifications to the stack RabbitMQ', () => {
  let connection: amqp.ChannelModel;
  let channel: amqp.Channel;
  const received: Received[] = [];
  // A topic of this run's own for the outage tests: its default queue is deleted afterwards, and nobody else's
  // consumer sees the test's messages.
  const topic = `notify-it-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    connection = await amqp.connect(stackValue('TRANSPORT_URL').replace(/^rabbit:/, 'amqp:'));
    channel = await connection.createChannel();
    // Bound as Ceilometer binds: the control exchange "glance" as oslo.messaging declares it, <topic>.<priority>.
    await channel.assertExchange('glance', 'topic', { durable: false });
    const queue = (await channel.assertQueue('', { exclusive: true })).queue;
    for (const key of ['notifications.info', 'notifications.error', `${topic}.info`])
      await channel.bindQueue(queue, 'glance', key);
    await channel.consume(
      queue,
      (msg) => {
        if (!msg) return;
        const envelope = JSON.parse(msg.content.toString()) as Record<string, unknown>;
        received.push({
          exchange: msg.fields.exchange,
          routingKey: msg.fields.routingKey,
          properties: msg.properties,
          envelope,
          message: JSON.parse(String(envelope['oslo.message'])) as Received['message'],
        });
      },
      { noAck: true },
    );
  });

  afterAll(async () => {
    await channel?.deleteQueue(`${topic}.info`).catch(() => undefined);
    await connection?.close();
  });

  async function arrived(probe: string, count: number, ms = 20_000): Promise<Received[]> {
    const deadline = Date.now() + ms;
    for (;;) {
      const mine = received.filter((r) => r.message.payload.probe === probe);
      if (mine.length >= count || Date.now() > deadline) return mine;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  test('messages arrive on exchange glance with routing key <topic>.<priority> in the messagingv2 envelope', async () => {
    const notifier = notifierFor(stackValue('TRANSPORT_URL'), 'notifications');
    const probe = randomUUID();
    notifier.notify('image.create', { probe, n: 1 });
    notifier.notify('image.upload', { probe, n: 2 }, { priority: 'ERROR' });
    const got = await arrived(probe, 2);
    await notifier.close();
    expect(got.map((r) => [r.exchange, r.routingKey, r.message.event_type, r.message.priority])).toEqual([
      ['glance', 'notifications.info', 'image.create', 'INFO'],
      ['glance', 'notifications.error', 'image.upload', 'ERROR'],
    ]);
    for (const r of got) {
      expect(Object.keys(r.envelope)).toEqual(['oslo.version', 'oslo.message']);
      expect(r.envelope['oslo.version']).toBe('2.0');
      expect(Object.keys(r.message)).toEqual([
        'message_id',
        'publisher_id',
        'event_type',
        'priority',
        'payload',
        'timestamp',
        '_unique_id',
      ]);
      expect(r.message.publisher_id).toBe('image.localhost');
      expect(r.properties).toMatchObject({
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        deliveryMode: 2,
      });
    }
    expect(notifier.stats()).toMatchObject({ sent: 2, dropped: 0, buffered: 0 });
  });

  test('a broker that is not there costs nothing per request: the buffer fills to its bound and counts drops', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const notifier = notifierFor(transportUrlVia(port), topic);
    const probe = randomUUID();
    // No await between the calls and the check: notify() returned without waiting for the broker.
    for (let n = 0; n < 50; n++) notifier.notify('image.update', { probe, n });
    expect(notifier.stats()).toMatchObject({ buffered: 20, capacity: 20, dropped: 30, connected: false });
    await notifier.close(500);
  });

  test('the broker goes away and comes back: requests stay fast, the buffered notifications arrive after', async () => {
    const relay = new Relay();
    await relay.start();
    const notifier = notifierFor(transportUrlVia(relay.port), topic, 'heartbeat_timeout_threshold = 10');
    try {
      const probe = randomUUID();
      notifier.notify('image.create', { probe, n: 0 });
      expect(await arrived(probe, 1)).toHaveLength(1);
      expect(notifier.stats().connected).toBe(true);

      await relay.stop();
      for (let n = 1; n <= 30; n++) notifier.notify('image.update', { probe, n });
      await new Promise((r) => setTimeout(r, 1500));
      expect(notifier.stats()).toMatchObject({ buffered: 20, dropped: 10, connected: false });
      expect((await arrived(probe, 2, 100)).length).toBe(1);

      await relay.start();
      const got = await arrived(probe, 21);
      // The oldest ten made room; the newest twenty arrive in order once the broker is back.
      expect(got.map((r) => r.message.payload.n)).toEqual([
        0,
        ...Array.from({ length: 20 }, (_, i) => 11 + i),
      ]);
      expect(got.every((r) => r.routingKey === `${topic}.info`)).toBe(true);
      expect(notifier.stats()).toMatchObject({ buffered: 0, dropped: 10, connected: true });
    } finally {
      await notifier.close(1000);
      await relay.stop();
    }
  });
});
