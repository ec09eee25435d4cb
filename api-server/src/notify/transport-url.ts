// oslo.messaging's TransportURL (oslo_messaging/transport.py TransportURL.parse) for the rabbit driver:
//   rabbit://user:pass@host:port[,userN:passN@hostN:portN]/virtual_host?query
// Credentials are per host and percent-decoded; a host without them logs in as guest, as kombu does.

export interface BrokerHost {
  hostname: string;
  port: number;
  username: string;
  password: string;
}

export interface TransportTarget {
  hosts: BrokerHost[];
  /** AMQP virtual host; the empty path (`…:5672/`) is RabbitMQ's default vhost "/". */
  vhost: string;
}

export class TransportUrlError extends Error {}

/** The rabbit driver's scheme and kombu's alias for it; every other driver is a different protocol. */
const RABBIT_SCHEMES = new Set(['rabbit', 'kombu']);

export function parseTransportUrl(url: string): TransportTarget {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url);
  if (!scheme?.[1])
    throw new TransportUrlError('is not a transport URL (driver://user:pass@host:port/vhost)');
  const driver = scheme[1].toLowerCase();
  if (!RABBIT_SCHEMES.has(driver)) {
    // amqp:// is oslo.messaging's AMQP 1.0 driver, kafka:// its Kafka driver: publishing to them as AMQP 0-9-1
    // would send to the wrong protocol, so they are refused rather than misread.
    throw new TransportUrlError(`names transport driver "${driver}"; only rabbit:// is supported`);
  }
  const rest = url.slice(scheme[0].length);
  // The query is parsed upstream but the rabbit driver reads nothing from it, so it is dropped here as there.
  const withoutQuery = rest.split(/[?#]/, 1)[0] ?? '';
  const slash = withoutQuery.indexOf('/');
  const netloc = slash < 0 ? withoutQuery : withoutQuery.slice(0, slash);
  const path = slash < 0 ? '' : withoutQuery.slice(slash + 1);
  const vhost = decode(path) || '/';

  const hosts: BrokerHost[] = [];
  for (const part of netloc.split(',')) {
    if (part === '') continue;
    let hostPart = part;
    let username = '';
    let password = '';
    const at = part.lastIndexOf('@');
    if (at >= 0) {
      const userinfo = part.slice(0, at);
      hostPart = part.slice(at + 1);
      const colon = userinfo.indexOf(':');
      username = decode(colon < 0 ? userinfo : userinfo.slice(0, colon));
      password = colon < 0 ? '' : decode(userinfo.slice(colon + 1));
    }
    let hostname = hostPart;
    let portText = '';
    if (hostPart.startsWith('[')) {
      const end = hostPart.indexOf(']');
      if (end < 0) throw new TransportUrlError('has an IPv6 address without its closing "]"');
      hostname = hostPart.slice(1, end);
      const after = hostPart.slice(end + 1);
      if (after.startsWith(':')) portText = after.slice(1);
    } else {
      const colon = hostPart.indexOf(':');
      if (colon >= 0) {
        hostname = hostPart.slice(0, colon);
        portText = hostPart.slice(colon + 1);
      }
    }
    if (portText !== '' && !/^\d{1,5}$/.test(portText))
      throw new TransportUrlError('has a port that is not a number');
    const port = portText === '' ? 5672 : Number(portText);
    if (port < 1 || port > 65535) throw new TransportUrlError('has a port outside 1-65535');
    hosts.push({
      hostname: hostname || 'localhost',
      port,
      // kombu's defaults for a host given without credentials.
      username: username || 'guest',
      password: at >= 0 ? password : 'guest',
    });
  }
  // rabbit:// alone is upstream's default transport_url: guest on localhost.
  if (hosts.length === 0)
    hosts.push({ hostname: 'localhost', port: 5672, username: 'guest', password: 'guest' });
  return { hosts, vhost };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new TransportUrlError('has a malformed percent-encoding');
  }
}

/** host:port for log lines: never the credentials. */
export function describeHost(host: BrokerHost): string {
  return host.hostname.includes(':') ? `[${host.hostname}]:${host.port}` : `${host.hostname}:${host.port}`;
}

/** The URL with every password replaced, for messages that must name it. */
export function redactTransportUrl(url: string): string {
  return url.replace(/([/,@][^/,@:]*:)[^@/,]*@/g, '$1***@');
}

/**
 * Replaces every password of the target (raw and percent-encoded) in a text, for error messages that come from
 * the AMQP client and might echo what they were given.
 */
export function redactSecrets(text: string, target: TransportTarget): string {
  let out = text;
  for (const host of target.hosts) {
    if (host.password.length < 1 || host.password === 'guest') continue;
    for (const form of new Set([host.password, encodeURIComponent(host.password)]))
      out = out.split(form).join('***');
  }
  return out;
}
