import amqp from 'amqplib';
import { adminTokenFromStack } from '../../harness/keystone.js';
import { stackValue } from '../../harness/stack-env.js';

interface Notification {
  routingKey: string;
  envelope: Record<string, unknown>;
  message: {
    message_id: string;
    publisher_id: string;
    event_type: string;
    priority: string;
    payload: unknown;
  };
}

// The stack's RabbitMQ as the install guide sets it up (user `openstack`), and upstream Glance publishing to it as
// the guide configures (messagingv2, topic `notifications`, exchange `glance`): the reference our notifications
// are compared with. The queue is bound as Ceilometer binds its own.
describe('notifications on the stack', () => {
  let connection: amqp.ChannelModel;
  let channel: amqp.Channel;
  let queue: string;
  const received: Notification[] = [];

  beforeAll(async () => {
    connection = await amqp.connect(stackValue('TRANSPORT_URL').replace(/^rabbit:/, 'amqp:'));
    channel = await connection.createChannel();
    // Declared as oslo.messaging declares it, so that whichever side comes first the other agrees.
    await channel.assertExchange('glance', 'topic', { durable: false });
    queue = (await channel.assertQueue('', { exclusive: true })).queue;
    await channel.bindQueue(queue, 'glance', 'notifications.info');
    await channel.consume(queue, (msg) => {
      if (!msg) return;
      const envelope = JSON.parse(msg.content.toString()) as Record<string, unknown>;
      const message = JSON.parse(String(envelope['oslo.message'])) as Notification['message'];
      received.push({ routingKey: msg.fields.routingKey, envelope, message });
    });
  });

  afterAll(async () => {
    await connection?.close();
  });

  async function glance(method: string, path: string, body?: string | Buffer, type = 'application/json') {
    const res = await fetch(`${stackValue('UPSTREAM_GLANCE_URL')}${path}`, {
      method,
      headers: { 'X-Auth-Token': await adminTokenFromStack(), 'Content-Type': type },
      ...(body ? { body } : {}),
    });
    if (res.status >= 400) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`);
    return res.status === 204 ? undefined : ((await res.json()) as Record<string, unknown>);
  }

  async function eventsFor(id: string, last: string): Promise<Notification[]> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const mine = received.filter((n) => (n.message.payload as { id?: string }).id === id);
      if (mine.some((n) => n.message.event_type === last) || Date.now() > deadline) return mine;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  test("upstream Glance publishes an image's life in oslo.messaging's messagingv2 envelope", async () => {
    const created = (await glance(
      'POST',
      '/v2/images',
      JSON.stringify({ name: 'notification-probe', disk_format: 'raw', container_format: 'bare' }),
    ))!;
    const id = String(created.id);
    await glance('PUT', `/v2/images/${id}/file`, Buffer.alloc(4096, 7), 'application/octet-stream');
    await glance('DELETE', `/v2/images/${id}`);

    const events = await eventsFor(id, 'image.delete');
    const types = events.map((n) => n.message.event_type);
    expect(types).toEqual(
      expect.arrayContaining([
        'image.create',
        'image.prepare',
        'image.upload',
        'image.activate',
        'image.delete',
      ]),
    );
    expect(types[0]).toBe('image.create');
    expect(types.at(-1)).toBe('image.delete');
    for (const n of events) {
      expect(n.routingKey).toBe('notifications.info');
      expect(n.envelope['oslo.version']).toBe('2.0');
      expect(n.message.priority).toBe('INFO');
      expect(n.message.publisher_id).toMatch(/^image\./);
      expect(n.message.message_id).toMatch(/^[0-9a-f-]{36}$/);
    }
  });
});
