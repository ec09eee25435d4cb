import { pino } from 'pino';
import type {
  BrokerLink,
  Connector,
  OutgoingMessage,
} from '../../../../api-server/src/notify/broker-link.js';
import { createNotifier } from '../../../../api-server/src/notify/notifier.js';
import type { NotifySettings } from '../../../../api-server/src/notify/settings.js';

const PASSWORD = 'hunter2-secret';

/** A broker that can be up or down; while up it records what was published and confirmed. */
class FakeBroker {
  up = false;
  published: { exchange: string; message: OutgoingMessage }[] = [];
  attempts: string[] = [];
  links: { close: (error?: Error) => void }[] = [];

  connector: Connector = async (host) => {
    this.attempts.push(`${host.hostname}:${host.port}`);
    if (!this.up || host.hostname === 'dead')
      throw new Error(`ECONNREFUSED amqp://u:${PASSWORD}@${host.hostname}`);
    let resolveClosed!: (error: Error | undefined) => void;
    const closed = new Promise<Error | undefined>((r) => (resolveClosed = r));
    const link: BrokerLink = {
      closed,
      publish: async (exchange, messages) => {
        if (!this.up) throw new Error('connection lost');
        for (const message of messages) this.published.push({ exchange, message });
      },
      close: async () => resolveClosed(undefined),
    };
    this.links.push({ close: (error) => resolveClosed(error ?? new Error('dropped')) });
    return link;
  };

  /** Simulates the broker going away: every open link closes. */
  drop(): void {
    this.up = false;
    for (const l of this.links) l.close();
    this.links = [];
  }
}

function settings(overrides: Partial<NotifySettings> = {}): NotifySettings {
  return {
    drivers: ['messagingv2'],
    topics: ['notifications'],
    transportUrl: `rabbit://u:${PASSWORD}@h1:5672/`,
    transport: { hosts: [{ hostname: 'h1', port: 5672, username: 'u', password: PASSWORD }], vhost: '/' },
    exchange: 'glance',
    publisherId: 'image.localhost',
    disabled: [],
    retry: -1,
    rabbit: {
      heartbeatSeconds: 60,
      retryIntervalMs: 5,
      retryIntervalMaxMs: 20,
      failover: 'round-robin',
      loginMethod: 'AMQPLAIN',
      queue: { durable: false, autoDelete: false, arguments: {} },
    },
    ...overrides,
  };
}

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { logger, lines, text: () => lines.map((l) => JSON.stringify(l)).join('\n') };
}

async function until(condition: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 2));
  }
}

const bodyOf = (m: OutgoingMessage) =>
  JSON.parse(String((JSON.parse(m.body.toString()) as Record<string, unknown>)['oslo.message'])) as {
    event_type: string;
    payload: { n: number };
    message_id: string;
  };

describe('the notifier and its background sender', () => {
  test('publishes to the exchange on <topic>.<priority>, one message per topic with the same message id', async () => {
    const broker = new FakeBroker();
    broker.up = true;
    const { logger } = capturingLogger();
    const n = createNotifier(settings({ topics: ['notifications', 'audit'] }), logger, {
      connector: broker.connector,
    });
    n.notify('image.create', { n: 1 });
    n.notify('image.upload', 'storage full', { priority: 'ERROR' });
    await until(() => broker.published.length === 4);
    expect(broker.published.map((p) => `${p.exchange} ${p.message.routingKey}`)).toEqual([
      'glance notifications.info',
      'glance audit.info',
      'glance notifications.error',
      'glance audit.error',
    ]);
    expect(bodyOf(broker.published[0]!.message).message_id).toBe(
      bodyOf(broker.published[1]!.message).message_id,
    );
    await n.close(100);
    expect(n.stats()).toMatchObject({ buffered: 0, dropped: 0, sent: 4 });
  });

  test('disabled notifications are not sent; unfiltered ones are', async () => {
    const broker = new FakeBroker();
    broker.up = true;
    const n = createNotifier(settings({ disabled: ['image'] }), pino({ level: 'silent' }), {
      connector: broker.connector,
    });
    expect(n.enabled('image.create')).toBe(false);
    n.notify('image.create', { n: 1 });
    n.notify('image.send', { n: 2 }, { unfiltered: true });
    n.notify('task.run', { n: 3 });
    await until(() => broker.published.length === 2);
    expect(broker.published.map((p) => bodyOf(p.message).event_type)).toEqual(['image.send', 'task.run']);
    await n.close(100);
  });

  test('broker down: notify stays synchronous, the buffer holds its bound, drops the oldest and counts them, logging once per episode', async () => {
    const broker = new FakeBroker();
    const { logger, lines, text } = capturingLogger();
    const n = createNotifier(settings(), logger, { connector: broker.connector, capacity: 50 });
    // No await between the calls and the check: notify() returned without waiting for the broker.
    for (let i = 0; i < 200; i++) n.notify('image.update', { n: i });
    expect(n.stats()).toMatchObject({ buffered: 50, capacity: 50, dropped: 150, connected: false });
    await until(() => broker.attempts.length >= 3);
    const warnings = lines.filter((l) => l['level'] === 40);
    expect(warnings.filter((l) => String(l['msg']).startsWith('notification buffer full'))).toHaveLength(1);
    expect(
      warnings.filter((l) => String(l['msg']).startsWith('notification broker unavailable')),
    ).toHaveLength(1);

    broker.up = true;
    await until(() => broker.published.length === 50);
    // The newest 50 survived, in order.
    expect(broker.published.map((p) => bodyOf(p.message).payload.n)).toEqual(
      Array.from({ length: 50 }, (_, i) => 150 + i),
    );
    await until(() => lines.some((l) => String(l['msg']).startsWith('notification buffer drained')));
    expect(lines.find((l) => String(l['msg']).startsWith('notification buffer drained'))).toMatchObject({
      dropped: 150,
    });
    expect(lines.some((l) => String(l['msg']).includes('reachable again'))).toBe(true);
    expect(text()).not.toContain(PASSWORD);
    await n.close(100);
  });

  test('a connection that drops mid-life is replaced and what was buffered meanwhile is sent', async () => {
    const broker = new FakeBroker();
    broker.up = true;
    const n = createNotifier(settings(), pino({ level: 'silent' }), { connector: broker.connector });
    n.notify('image.create', { n: 1 });
    await until(() => broker.published.length === 1);
    broker.drop();
    for (let i = 2; i <= 5; i++) n.notify('image.update', { n: i });
    await new Promise((r) => setTimeout(r, 30));
    expect(broker.published).toHaveLength(1);
    broker.up = true;
    await until(() => broker.published.length === 5);
    expect(broker.published.map((p) => bodyOf(p.message).payload.n)).toEqual([1, 2, 3, 4, 5]);
    expect(n.stats().dropped).toBe(0);
    await n.close(100);
  });

  test('several hosts: fails over to the next in order', async () => {
    const broker = new FakeBroker();
    broker.up = true;
    const hosts = [
      { hostname: 'dead', port: 1, username: 'u', password: PASSWORD },
      { hostname: 'alive', port: 2, username: 'u', password: PASSWORD },
    ];
    const n = createNotifier(settings({ transport: { hosts, vhost: '/' } }), pino({ level: 'silent' }), {
      connector: broker.connector,
    });
    n.notify('image.create', { n: 1 });
    await until(() => broker.published.length === 1);
    expect(broker.attempts.slice(0, 2)).toEqual(['dead:1', 'alive:2']);
    await n.close(100);
  });

  test('retry = N gives a message up after N failed retries and counts it', async () => {
    const broker = new FakeBroker();
    const n = createNotifier(settings({ retry: 1 }), pino({ level: 'silent' }), {
      connector: broker.connector,
    });
    n.notify('image.create', { n: 1 });
    await until(() => n.stats().dropped === 1);
    expect(broker.attempts.length).toBe(2);
    expect(n.stats().buffered).toBe(0);
    await n.close(50);
  });

  test('close flushes what the broker takes, and gives up on a dead broker within its timeout', async () => {
    const broker = new FakeBroker();
    broker.up = true;
    const n = createNotifier(settings(), pino({ level: 'silent' }), { connector: broker.connector });
    for (let i = 0; i < 10; i++) n.notify('image.update', { n: i });
    await n.close(1000);
    expect(broker.published).toHaveLength(10);

    const dead = new FakeBroker();
    const { logger, lines } = capturingLogger();
    const m = createNotifier(
      settings({ rabbit: { ...settings().rabbit, retryIntervalMs: 60_000, retryIntervalMaxMs: 60_000 } }),
      logger,
      {
        connector: dead.connector,
      },
    );
    m.notify('image.update', { n: 1 });
    await m.close(100);
    expect(lines.some((l) => l['undelivered'] === 1)).toBe(true);
    m.notify('image.update', { n: 2 }); // after close: ignored, never throws
  });

  test('noop and log drivers', async () => {
    const { logger, lines } = capturingLogger();
    const noop = createNotifier(settings({ drivers: ['noop'] }), logger);
    noop.notify('image.create', { n: 1 });
    expect(noop.stats().sent).toBe(0);
    const log = createNotifier(settings({ drivers: ['log'] }), logger);
    log.notify('image.create', { n: 1 });
    expect(lines.find((l) => l['logger'] === 'oslo.messaging.notification.image.create')).toMatchObject({
      level: 30,
      notification: {
        event_type: 'image.create',
        priority: 'INFO',
        publisher_id: 'image.localhost',
        payload: { n: 1 },
      },
    });
    await log.close();
  });
});
