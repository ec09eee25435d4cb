import { ConfigError } from '../../../../api-server/src/config/errors.js';
import { readIni } from '../../../../api-server/src/config/ini.js';
import { notifySettings } from '../../../../api-server/src/notify/settings.js';
import {
  parseTransportUrl,
  redactSecrets,
  redactTransportUrl,
} from '../../../../api-server/src/notify/transport-url.js';

const PASSWORD = 'S3cr3t-pw';

function settings(text: string) {
  const { doc, problems } = readIni(text, 'glance-api.conf');
  expect(problems).toEqual([]);
  return notifySettings(doc);
}

function refusal(text: string): string[] {
  try {
    settings(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
}

describe('notification settings', () => {
  test('the install guide configuration', () => {
    const s = settings(`[DEFAULT]
transport_url = rabbit://openstack:${PASSWORD}@127.0.0.1:5672/
[oslo_messaging_notifications]
driver = messagingv2
topics = notifications
[oslo_messaging_rabbit]
default_notification_exchange = glance
`);
    expect(s.drivers).toEqual(['messagingv2']);
    expect(s.topics).toEqual(['notifications']);
    expect(s.exchange).toBe('glance');
    expect(s.publisherId).toBe('image.localhost');
    expect(s.disabled).toEqual([]);
    expect(s.retry).toBe(-1);
    expect(s.transport).toEqual({
      hosts: [{ hostname: '127.0.0.1', port: 5672, username: 'openstack', password: PASSWORD }],
      vhost: '/',
    });
    expect(s.rabbit).toEqual({
      heartbeatSeconds: 60,
      retryIntervalMs: 1000,
      retryIntervalMaxMs: 30000,
      failover: 'round-robin',
      loginMethod: 'AMQPLAIN',
      queue: { durable: false, autoDelete: false, arguments: {} },
    });
  });

  test('no driver is upstream default: nothing is sent', () => {
    expect(settings('[DEFAULT]\n').drivers).toEqual([]);
    expect(settings('[oslo_messaging_notifications]\ndriver = noop\n').drivers).toEqual(['noop']);
  });

  test('the deprecated [DEFAULT] names apply when the new ones are unset, and lose to them', () => {
    const old = settings(`[DEFAULT]
notification_driver = messaging
notification_topics = a, b
notification_transport_url = rabbit://u:p@h1:5673/v
transport_url = rabbit://x:y@other/
`);
    expect(old.drivers).toEqual(['messaging']);
    expect(old.topics).toEqual(['a', 'b']);
    expect(old.transport.hosts[0]).toMatchObject({ hostname: 'h1', port: 5673 });
    expect(old.transport.vhost).toBe('v');
    const both = settings(`[DEFAULT]
notification_driver = messaging
notification_topics = a
[oslo_messaging_notifications]
driver = messagingv2
topics = c
transport_url = rabbit://u:p@h2/
`);
    expect(both.drivers).toEqual(['messagingv2']);
    expect(both.topics).toEqual(['c']);
    expect(both.transport.hosts[0]?.hostname).toBe('h2');
  });

  test('the DEFAULT options: control_exchange, default_publisher_id, disabled_notifications, retry', () => {
    const s = settings(`[DEFAULT]
control_exchange = openstack
default_publisher_id = image.node-1
disabled_notifications = image.create, metadef_tag
[oslo_messaging_notifications]
driver = messagingv2
retry = 3
[oslo_messaging_rabbit]
rabbit_retry_interval = 2
rabbit_interval_max = 10
heartbeat_timeout_threshold = 0
amqp_durable_queues = true
rabbit_ha_queues = true
kombu_failover_strategy = shuffle
rabbit_login_method = PLAIN
`);
    expect(s.exchange).toBe('openstack');
    expect(s.publisherId).toBe('image.node-1');
    expect(s.disabled).toEqual(['image.create', 'metadef_tag']);
    expect(s.retry).toBe(3);
    expect(s.rabbit).toMatchObject({
      heartbeatSeconds: 0,
      retryIntervalMs: 2000,
      retryIntervalMaxMs: 10000,
      failover: 'shuffle',
      loginMethod: 'PLAIN',
      queue: { durable: true, autoDelete: false, arguments: { 'x-ha-policy': 'all' } },
    });
  });

  test('quorum queues are durable and carry their arguments', () => {
    const s = settings(`[oslo_messaging_notifications]
driver = messagingv2
[oslo_messaging_rabbit]
rabbit_quorum_queue = true
rabbit_quorum_delivery_limit = 5
`);
    expect(s.rabbit.queue).toEqual({
      durable: true,
      autoDelete: false,
      arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': 5 },
    });
  });

  test('without any transport_url the broker is upstream default, guest on localhost', () => {
    const s = settings('[oslo_messaging_notifications]\ndriver = messagingv2\n');
    expect(s.transport.hosts).toEqual([
      { hostname: 'localhost', port: 5672, username: 'guest', password: 'guest' },
    ]);
  });

  test.each([
    ['driver = routing', /driver "routing" is not supported/],
    ['driver = test', /driver "test" is not supported/],
    ['driver = kafka', /driver "kafka" is not supported/],
  ])('refuses %s', (line, message) => {
    const problems = refusal(`[oslo_messaging_notifications]\n${line}\n`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^glance-api\.conf:oslo_messaging_notifications:driver: /);
    expect(problems[0]).toMatch(message);
  });

  test('refuses what it cannot honour, all problems at once, never quoting the transport URL', () => {
    const problems = refusal(`[DEFAULT]
transport_url = kafka://u:${PASSWORD}@h/
[oslo_messaging_notifications]
driver = messagingv2
retry = often
[oslo_messaging_rabbit]
ssl = true
kombu_compression = gzip
rabbit_login_method = EXTERNAL
rabbit_ha_queues = true
rabbit_quorum_queue = true
`);
    expect(problems).toEqual([
      expect.stringMatching(/DEFAULT:transport_url: names transport driver "kafka"/),
      expect.stringMatching(/oslo_messaging_notifications:retry: must be an integer/),
      expect.stringMatching(/oslo_messaging_rabbit:ssl: TLS to RabbitMQ is not implemented/),
      expect.stringMatching(/kombu_compression: compressed messages are not implemented/),
      expect.stringMatching(/rabbit_login_method: only PLAIN and AMQPLAIN/),
      expect.stringMatching(/rabbit_quorum_queue: cannot be set together with rabbit_ha_queues/),
    ]);
    expect(problems.join('\n')).not.toContain(PASSWORD);
  });

  test('a bad transport URL matters only to a broker driver', () => {
    expect(
      settings('[DEFAULT]\ntransport_url = kafka://h/\n[oslo_messaging_notifications]\ndriver = log\n')
        .drivers,
    ).toEqual(['log']);
    expect(
      refusal('[DEFAULT]\ntransport_url = nonsense\n[oslo_messaging_notifications]\ndriver = messaging\n')[0],
    ).toMatch(/is not a transport URL/);
  });

  test('an empty topics list with a broker driver is refused', () => {
    expect(refusal('[oslo_messaging_notifications]\ndriver = messagingv2\ntopics =\n')[0]).toMatch(
      /names no topic/,
    );
  });

  test('values are read as oslo.config reads them: $$ is a literal dollar, $name and ${group.name} expand', () => {
    const s = settings(`[DEFAULT]
rabbit_host = mq.example
transport_url = rabbit://openstack:pa$$word@$rabbit_host:5672/
control_exchange = \${oslo_messaging_notifications.exchange_name}
[oslo_messaging_notifications]
driver = messagingv2
exchange_name = images
topics = $topic_name
topic_name = notifications
`);
    expect(s.transport.hosts).toEqual([
      { hostname: 'mq.example', port: 5672, username: 'openstack', password: 'pa$word' },
    ]);
    expect(s.transportUrl).toBe('rabbit://openstack:pa$word@mq.example:5672/');
    expect(s.exchange).toBe('images');
    expect(s.topics).toEqual(['notifications']);
  });

  test('a reference to nothing is refused; in a transport URL without quoting the secret around it', () => {
    const problems = refusal(`[DEFAULT]
transport_url = rabbit://openstack:pa$sword@127.0.0.1:5672/
[oslo_messaging_notifications]
driver = messagingv2
topics = $nothing
`);
    expect(problems).toEqual([
      'glance-api.conf:oslo_messaging_notifications:topics: refers to $nothing, which is not set (write $$ for a literal $)',
      'glance-api.conf:DEFAULT:transport_url: has a $ reference that cannot be resolved (write $$ for a literal $)',
    ]);
    expect(problems.join('\n')).not.toContain('sword');
  });
});

describe('transport URLs', () => {
  test('several hosts, each with its credentials, percent-decoded, in order', () => {
    expect(parseTransportUrl('rabbit://u1:p%40ss@h1:5672,u2:p2@[::1]:5673,h3/my%2Fvhost?ignored=1')).toEqual({
      hosts: [
        { hostname: 'h1', port: 5672, username: 'u1', password: 'p@ss' },
        { hostname: '::1', port: 5673, username: 'u2', password: 'p2' },
        { hostname: 'h3', port: 5672, username: 'guest', password: 'guest' },
      ],
      vhost: 'my/vhost',
    });
  });

  test('redaction removes every password', () => {
    const url = `rabbit://openstack:${PASSWORD}@h1:5672,u2:other@h2:5672/`;
    expect(redactTransportUrl(url)).toBe('rabbit://openstack:***@h1:5672,u2:***@h2:5672/');
    const target = parseTransportUrl(url);
    expect(redactSecrets(`failed ${PASSWORD} and other`, target)).toBe('failed *** and ***');
  });

  test('refuses ports that are not ports', () => {
    expect(() => parseTransportUrl('rabbit://h:99999/')).toThrow(/outside/);
    expect(() => parseTransportUrl('rabbit://h:x/')).toThrow(/not a number/);
  });
});
