import { parseTransportUrl } from '../../../../api-server/src/notify/transport-url.js';
import { transportUrlProblem } from '../../../../operator/src/glance-service/transport-url.js';

describe('transport URL check', () => {
  it.each([
    'rabbit://openstack:RABBIT_PASS@controller',
    'rabbit://openstack:RABBIT_PASS@controller:5672/',
    'rabbit://openstack:p%40ss%2Fw%3Ard@10.0.0.5:5672/glance',
    'rabbit://a:x@mq-0.mq.svc:5672,b:y@mq-1.mq.svc:5673/%2F?heartbeat=30',
    'rabbit://openstack:pa$$@[fd00::1]:5672/',
    'RABBIT://guest@localhost',
  ])('accepts %s, as our API server does', (url) => {
    expect(transportUrlProblem(url)).toBeUndefined();
    expect(() => parseTransportUrl(url)).not.toThrow();
  });

  it.each([
    ['amqp://u:p@mq:5672/', 'names transport driver "amqp"; only rabbit:// (RabbitMQ) is supported'],
    ['kafka://mq:9092', 'names transport driver "kafka"; only rabbit:// (RabbitMQ) is supported'],
    ['mq.example.com:5672', 'is not a transport URL (rabbit://user:password@host:port/vhost)'],
    ['rabbit://', 'names no host'],
    ['rabbit:///vhost', 'names no host'],
    ['rabbit://u:p@', 'its host names no host'],
    ['rabbit://u:p@mq:5672,', 'host 2 names no host'],
    ['rabbit://u:p@mq:port/', 'its host has a port that is not a number'],
    ['rabbit://u:p@mq:70000/', 'its host has a port outside 1-65535'],
    ['rabbit://u:p@mq_host:5672/', 'its host is not a host name or address'],
    ['rabbit://u:p%zz@mq:5672/', 'its host has a malformed percent-encoding'],
    ['rabbit://u:p@mq:5672/%zz', 'has a malformed percent-encoding in its vhost'],
    ['rabbit://u:p@mq:5672/ x', 'contains whitespace or a control character'],
    ['rabbit://u:p@mq:5672/\n[database]\nconnection = x', 'contains whitespace or a control character'],
  ])('refuses %j: it %s', (url, problem) => {
    expect(transportUrlProblem(url)).toBe(problem);
  });

  it('never quotes the URL, which holds a password', () => {
    for (const url of ['amqp://u:Secret-1@mq/', 'rabbit://u:Secret-1@mq:x/', 'Secret-1']) {
      expect(transportUrlProblem(url)).not.toContain('Secret-1');
    }
  });
});
