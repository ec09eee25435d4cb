import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { z } from 'zod';
import { TerminalError } from '../runtime/errors.js';

/**
 * Where the operator may connect on a resource author's behalf. Image sources, checksum files, proxies and
 * the Keystone and Glance URLs a resource names are chosen by whoever may create that resource; without a
 * policy they reach the cloud's metadata service, the kube-apiserver and every pod, what they return lands
 * where the author can read it, and the Keystone and Glance ones are sent passwords and tokens.
 */

/** Addresses refused whatever the settings say, unless an allow rule names them. */
export const ALWAYS_DENIED = [
  '0.0.0.0/8', // "this network": connects to loopback on Linux
  '127.0.0.0/8',
  '169.254.0.0/16', // link-local, cloud metadata (169.254.169.254) included
  '100.100.100.200/32', // Alibaba Cloud's metadata service, outside link-local
  '::/128',
  '::1/128',
  'fe80::/10',
  'fd00:ec2::254/128', // AWS's IPv6 metadata service
] as const;

/** An address as `a.b.c.d`, `a.b.c.d/len`, an IPv6 form of either, optionally `:port` (`[v6]:port`). */
export interface AddressRule {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
  port?: number;
}

function parseRule(text: string): AddressRule {
  let rest = text.trim();
  let port: number | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  if (bracketed) {
    rest = bracketed[1]!;
    port = bracketed[2] ? Number(bracketed[2]) : undefined;
  } else {
    const v4Port = /^([\d./]+):(\d+)$/.exec(rest);
    if (v4Port) {
      rest = v4Port[1]!;
      port = Number(v4Port[2]);
    }
  }
  const [address = '', len] = rest.split('/');
  const version = isIP(address);
  if (version === 0) throw new Error(`"${text}" is not an address or CIDR`);
  const max = version === 4 ? 32 : 128;
  const prefix = len === undefined ? max : Number(len);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max)
    throw new Error(`"${text}": bad prefix length`);
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    throw new Error(`"${text}": bad port`);
  }
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6', ...(port ? { port } : {}) };
}

const ruleList = z
  .string()
  .default('')
  .transform((s, ctx) => {
    const rules: AddressRule[] = [];
    for (const part of s.split(',').filter((p) => p.trim() !== '')) {
      try {
        rules.push(parseRule(part));
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }
    return rules;
  });

/** The policy's settings, from the operator's environment (the chart's `urlPolicy` values). */
export const urlPolicyEnv = z.object({
  URL_POLICY_DENY: ruleList.describe(
    'Addresses refused besides loopback, link-local and metadata: the cluster pod and Service ranges.',
  ),
  URL_POLICY_ALLOW: ruleList.describe('Addresses allowed even if denied, each optionally with a port.'),
  URL_POLICY_ALLOW_HTTPS_TO_HTTP: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
});
export type UrlPolicySettings = z.output<typeof urlPolicyEnv>;

/**
 * What a refused URL was: data fetched for a resource (source, checksum file, proxy), or an API the operator
 * sends credentials to (Keystone, Glance).
 */
export type NotAllowedReason = 'SourceNotAllowed' | 'EndpointNotAllowed';

/** A URL or an address it resolved to is outside the policy: retrying will not change it. */
export class UrlNotAllowed extends TerminalError {
  override readonly name = 'UrlNotAllowed';
  constructor(message: string, reason: NotAllowedReason = 'SourceNotAllowed') {
    super(reason, message);
  }
}

/** The address a host name was checked at; the connection must go there and nowhere else. */
export interface CheckedAddress {
  address: string;
  family: 4 | 6;
}

type Resolver = (host: string) => Promise<CheckedAddress[]>;

const systemResolver: Resolver = async (host) => {
  const found = await dnsLookup(host, { all: true, verbatim: true });
  return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/** A resolver's answer, or an error once `ms` have passed: no caller waits on a silent resolver. */
async function resolveWithin(resolve: Resolver, host: string, ms: number): Promise<CheckedAddress[]> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${host} did not resolve within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([resolve(host), late]);
  } finally {
    clearTimeout(timer);
  }
}

function blockList(rules: readonly AddressRule[]): BlockList {
  const list = new BlockList();
  for (const r of rules) list.addSubnet(r.address, r.prefix, r.family);
  return list;
}

function defaultPort(url: URL): number {
  if (url.port) return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

export class UrlPolicy {
  private readonly denied: BlockList;
  private readonly allowAnyPort: BlockList;
  private readonly allowByPort = new Map<number, BlockList>();

  constructor(
    private readonly settings: UrlPolicySettings,
    /** The kube-apiserver's own addresses, refused as the pod and Service ranges are. */
    apiServerAddresses: readonly string[] = [],
    private readonly resolve: Resolver = systemResolver,
    /** A name that does not resolve in this time is a transient failure, not a reconcile that hangs. */
    private readonly resolveTimeoutMs = 10_000,
  ) {
    const apiServer = apiServerAddresses.map((a) => parseRule(a));
    this.denied = blockList([...ALWAYS_DENIED.map(parseRule), ...settings.URL_POLICY_DENY, ...apiServer]);
    this.allowAnyPort = blockList(settings.URL_POLICY_ALLOW.filter((r) => r.port === undefined));
    for (const r of settings.URL_POLICY_ALLOW) {
      if (r.port === undefined) continue;
      const list = this.allowByPort.get(r.port) ?? new BlockList();
      list.addSubnet(r.address, r.prefix, r.family);
      this.allowByPort.set(r.port, list);
    }
  }

  /** Whether a connection to `address:port` is allowed: an allow rule wins over every deny rule. */
  allows(address: string, port: number): boolean {
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (this.allowAnyPort.check(address, type)) return true;
    if (this.allowByPort.get(port)?.check(address, type)) return true;
    return !this.denied.check(address, type);
  }

  /**
   * Resolves the URL's host once and checks every address it has: a name that resolves to any refused address
   * is refused, so a rebinding name cannot pick its answer per connection. Returns the address to connect to.
   */
  async check(url: URL, reason: NotAllowedReason = 'SourceNotAllowed'): Promise<CheckedAddress> {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new UrlNotAllowed(`${url.protocol} URLs are not fetched; use http or https`, reason);
    }
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = defaultPort(url);
    const literal = isIP(host);
    const addresses: CheckedAddress[] = literal
      ? [{ address: host, family: literal === 6 ? 6 : 4 }]
      : await resolveWithin(this.resolve, host.replace(/\.$/, ''), this.resolveTimeoutMs);
    if (addresses.length === 0) throw new Error(`${host} has no address`);
    for (const a of addresses) {
      if (!this.allows(a.address, port)) {
        const where = literal ? a.address : `${host} (${a.address})`;
        throw new UrlNotAllowed(`${where} port ${port} is not allowed by the operator's URL policy`, reason);
      }
    }
    return addresses[0]!;
  }

  /** A redirect is followed only to an allowed URL, and never from https down to http unless allowed. */
  checkRedirect(from: URL, to: URL): void {
    if (
      from.protocol === 'https:' &&
      to.protocol === 'http:' &&
      !this.settings.URL_POLICY_ALLOW_HTTPS_TO_HTTP
    ) {
      throw new UrlNotAllowed(
        `a redirect from https to http (${to.host}) is not allowed by the operator's URL policy`,
      );
    }
  }
}

/**
 * A lookup that answers only with the address already checked, for `http.request({ lookup })` and undici's
 * `connect.lookup`: the socket goes where the policy looked, whatever the name resolves to a moment later.
 */
export function pinnedLookup(checked: CheckedAddress): LookupFunction {
  return (_host, options, callback) => {
    if (typeof options === 'object' && options?.all) {
      (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [
        { address: checked.address, family: checked.family },
      ]);
      return;
    }
    callback(null, checked.address, checked.family);
  };
}

/** The addresses of the API server at `server` (a kubeconfig's URL), to refuse them as sources. */
export async function apiServerAddresses(
  server: string | undefined,
  resolve: Resolver = systemResolver,
): Promise<string[]> {
  if (!server) return [];
  const host = new URL(server).hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) return [host];
  try {
    return (await resolveWithin(resolve, host, 10_000)).map((a) => a.address);
  } catch {
    // Unresolvable now (or not in time): the configured ranges still cover the cluster's Service address.
    return [];
  }
}
