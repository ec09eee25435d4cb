// The transport URL a GlanceService's notifications name, checked before it goes into glance-api.conf: the API
// server refuses at start a URL it cannot use, which would leave pods crash-looping where the operator can say why.
// oslo.messaging's form for the rabbit driver: rabbit://user:pass@host:port[,user:pass@host:port]/vhost?query.
// Problems never quote the URL: it holds passwords.

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
const IPV6 = /^\[[0-9A-Fa-f:.]+\]$/;

function decodes(text: string): boolean {
  try {
    decodeURIComponent(text);
    return true;
  } catch {
    return false;
  }
}

function hostProblem(part: string, position: string): string | undefined {
  const at = part.lastIndexOf('@');
  if (at >= 0 && !decodes(part.slice(0, at))) return `${position} has a malformed percent-encoding`;
  const hostPort = part.slice(at + 1);
  // [v6]:port or name:port, the port optional.
  const split = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(hostPort);
  const host = split?.[1] ?? '';
  const port = split?.[2];
  if (host === '') return `${position} names no host`;
  if (!IPV6.test(host) && !HOSTNAME.test(host)) return `${position} is not a host name or address`;
  if (port === undefined) return undefined;
  if (!/^\d{1,5}$/.test(port)) return `${position} has a port that is not a number`;
  if (Number(port) < 1 || Number(port) > 65535) return `${position} has a port outside 1-65535`;
  return undefined;
}

/** Why `url` is not a rabbit:// transport URL the API server can publish to, or undefined when it is. */
export function transportUrlProblem(url: string): string | undefined {
  // A line break would end the option in glance-api.conf and start another one.
  if (/[\s\p{Cc}]/u.test(url)) return 'contains whitespace or a control character';
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url);
  if (!scheme?.[1]) return 'is not a transport URL (rabbit://user:password@host:port/vhost)';
  const driver = scheme[1].toLowerCase();
  if (driver !== 'rabbit') {
    // amqp:// is oslo.messaging's AMQP 1.0 driver and kafka:// its Kafka driver; the API server speaks AMQP 0-9-1.
    return `names transport driver "${driver}"; only rabbit:// (RabbitMQ) is supported`;
  }
  const rest = url.slice(scheme[0].length).split(/[?#]/, 1)[0] ?? '';
  const slash = rest.indexOf('/');
  const netloc = slash < 0 ? rest : rest.slice(0, slash);
  if (slash >= 0 && !decodes(rest.slice(slash + 1))) return 'has a malformed percent-encoding in its vhost';
  // rabbit:// alone means guest@localhost, which is never the broker from inside a pod.
  if (netloc === '') return 'names no host';
  const parts = netloc.split(',');
  for (const [index, part] of parts.entries()) {
    const problem = hostProblem(part, parts.length > 1 ? `host ${index + 1}` : 'its host');
    if (problem) return problem;
  }
  return undefined;
}
