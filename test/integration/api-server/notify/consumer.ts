import amqp from 'amqplib';
import type { ObservedEvent } from '../../../../api-server/src/notify/index.js';
import { stackValue } from '../../../harness/stack-env.js';

/**
 * A consumer bound to exchange `glance` as Ceilometer binds (`notifications.info` and `.error`) on the stack's
 * RabbitMQ: every event it receives is pushed to `into`. Close the connection it returns.
 */
export async function consumeNotifications(into: ObservedEvent[]): Promise<amqp.ChannelModel> {
  const connection = await amqp.connect(stackValue('TRANSPORT_URL').replace(/^rabbit:/, 'amqp:'));
  const channel = await connection.createChannel();
  await channel.assertExchange('glance', 'topic', { durable: false });
  const queue = (await channel.assertQueue('', { exclusive: true })).queue;
  await channel.bindQueue(queue, 'glance', 'notifications.info');
  await channel.bindQueue(queue, 'glance', 'notifications.error');
  await channel.consume(
    queue,
    (msg) => {
      if (!msg) return;
      const envelope = JSON.parse(msg.content.toString()) as Record<string, unknown>;
      const message = JSON.parse(String(envelope['oslo.message'])) as ObservedEvent;
      into.push({ event_type: message.event_type, payload: message.payload });
    },
    { noAck: true },
  );
  return connection;
}
