import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { internalAddressClass } from './address-class.js';
import {
  filterUri,
  isAllowedHost,
  UriRefused,
  type FilteredUri,
  type ImportFiltering,
} from './uri-filter.js';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** All addresses a host name resolves to (the resolver's order). */
export type Resolve = (host: string) => Promise<ResolvedAddress[]>;

/** Where a fetch may go: the filtered URI and the one address the connection is pinned to. */
export interface Destination extends FilteredUri {
  address: string;
  family: 4 | 6;
}

export const resolveWithDns: Resolve = async (host) => {
  // The trailing dot makes the name absolute, so no resolver search domain can change what it means.
  const name = host.endsWith('.') ? host : `${host}.`;
  const found = await dnsLookup(name, { all: true, verbatim: true });
  return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

function article(cls: string): string {
  return /^[aeiou]/.test(cls) ? 'an' : 'a';
}

/**
 * upstream's get_validated_address with this server's stricter default: the URI passes the
 * [import_filtering_opts] lists, its host resolves, and the connection is pinned to the first resolved address
 * that is neither internal (loopback, link-local, private, multicast, reserved) nor an IP entry of
 * disallowed_hosts. A host named in allowed_hosts is trusted with whatever it resolves to, as upstream does.
 * Throws UriRefused.
 */
export async function resolveDestination(
  uri: string,
  filtering: ImportFiltering,
  resolve: Resolve,
): Promise<Destination> {
  const filtered = filterUri(uri, filtering);
  const literal = isIP(filtered.host);
  let addresses: ResolvedAddress[];
  if (literal !== 0) {
    addresses = [{ address: filtered.host, family: literal === 6 ? 6 : 4 }];
  } else {
    try {
      addresses = await resolve(filtered.host);
    } catch (err) {
      throw new UriRefused(`failed to resolve external host ${filtered.host}: ${(err as Error).message}`);
    }
  }
  const denied = filtering.allowed_hosts.length > 0 ? [] : filtering.disallowed_hosts;
  const trusted = isAllowedHost(filtered.host, filtering);
  const reasons: string[] = [];
  for (const { address, family } of addresses) {
    const ip = address.split('%')[0] ?? address;
    if (trusted) return { ...filtered, address: ip, family };
    const cls = internalAddressClass(ip);
    if (cls !== null) {
      reasons.push(`${ip} is ${article(cls)} ${cls} address`);
      continue;
    }
    if (denied.some((entry) => isIP(entry) !== 0 && sameAddress(entry, ip))) {
      reasons.push(`${ip} is in disallowed_hosts`);
      continue;
    }
    return { ...filtered, address: ip, family };
  }
  throw new UriRefused(
    `no allowed addresses for external host ${filtered.host}` +
      (reasons.length > 0 ? ` (${reasons.join('; ')})` : ''),
  );
}

function sameAddress(a: string, b: string): boolean {
  const canonical = (ip: string): string => (isIP(ip) === 6 ? new URL(`http://[${ip}]/`).hostname : ip);
  return canonical(a) === canonical(b);
}
