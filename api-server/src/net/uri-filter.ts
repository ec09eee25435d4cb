import { isIPv4, isIPv6 } from 'node:net';
import type { GlanceConfig } from '../config/index.js';

/** [import_filtering_opts]: allow and deny lists for the URIs the server fetches image data from. */
export type ImportFiltering = GlanceConfig['import_filtering_opts'];

/** A URI the server will not fetch, with the reason (for logs and task messages). */
export class UriRefused extends Error {
  override readonly name = 'UriRefused';
}

/** A URI that passed the scheme, host and port lists. */
export interface FilteredUri {
  /** The URI as WHATWG parses it: what the request line and Host header are built from. */
  url: URL;
  scheme: string;
  /** upstream's normalize_hostname: a canonical IP address, or the (lower-case) host name. */
  host: string;
  /** The port to connect to (the scheme's default when the URI names none). */
  port: number;
}

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*$/;

/** `uri` with any user:password part masked: messages about URIs end up in logs and task records. */
export function redactedUri(uri: string): string {
  return uri.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#]*@/, '$1***@');
}

/**
 * The scheme, host and port of `uri` as Python's urllib.parse.urlsplit sees them, which is what upstream's
 * filter judges. Ports are checked like ParseResult.port: digits only, 0-65535, absent when empty.
 */
export function splitUri(uri: string): { scheme: string; hostname: string | null; port: number | null } {
  const colon = uri.indexOf(':');
  const scheme = colon > 0 && SCHEME.test(uri.slice(0, colon)) ? uri.slice(0, colon).toLowerCase() : '';
  const rest = scheme === '' ? uri : uri.slice(colon + 1);
  if (!rest.startsWith('//')) return { scheme, hostname: null, port: null };
  const netloc = rest.slice(2).split(/[/?#]/, 1)[0] ?? '';
  const hostinfo = netloc.slice(netloc.lastIndexOf('@') + 1);
  let hostname: string;
  let portText: string;
  if (hostinfo.includes('[')) {
    const bracketed = hostinfo.slice(hostinfo.indexOf('[') + 1);
    const close = bracketed.indexOf(']');
    hostname = close < 0 ? bracketed : bracketed.slice(0, close);
    const after = close < 0 ? '' : bracketed.slice(close + 1);
    portText = after.includes(':') ? after.slice(after.indexOf(':') + 1) : '';
  } else {
    const at = hostinfo.indexOf(':');
    hostname = at < 0 ? hostinfo : hostinfo.slice(0, at);
    portText = at < 0 ? '' : hostinfo.slice(at + 1);
  }
  let port: number | null = null;
  if (portText !== '') {
    if (!/^[0-9]+$/.test(portText) || Number(portText) > 65535) {
      throw new UriRefused(`invalid port in external URI: ${redactedUri(uri)}`);
    }
    port = Number(portText);
  }
  return { scheme, hostname: hostname === '' ? null : hostname.toLowerCase(), port };
}

/**
 * upstream's normalize_hostname without its DNS probe (resolution comes next, for every host): IP addresses
 * only in their standard spelling, and no all-numeric names, which resolvers would read as encoded addresses
 * (2130706433, 127.1, 0x7f.1).
 */
export function normalizeHost(host: string): string | null {
  if (isIPv4(host)) {
    // Python's IPv4Address refuses leading zeros, which some resolvers read as octal.
    return host.split('.').every((octet) => octet === String(Number(octet))) ? host : null;
  }
  if (isIPv6(host)) return new URL(`http://[${host.split('%')[0] ?? ''}]/`).hostname.slice(1, -1);
  if (/^[0-9.]*$/.test(host)) return null;
  // Only plain DNS names: anything else may be rewritten by the URL parser (see filterUri's last check).
  if (!/^[a-z0-9._-]+$/.test(host)) return null;
  return withoutRootDot(host);
}

/** `example.com.` is `example.com` to every resolver: the host lists must not see two names. */
function withoutRootDot(host: string): string | null {
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  return name === '' || name.endsWith('.') ? null : name;
}

function defaultPort(scheme: string): number {
  return scheme === 'https' ? 443 : 80;
}

/** When an allow list is set, its deny list is ignored (upstream logs the same). */
function effective<T>(allowed: T[], denied: T[]): { allowed: T[]; denied: T[] } {
  return { allowed, denied: allowed.length > 0 ? [] : denied };
}

/** Host names in the lists match whatever their case: DNS names are case-insensitive. */
const lowerCase = (hosts: string[]) => hosts.map((h) => h.toLowerCase());

export function isAllowedHost(host: string, filtering: ImportFiltering): boolean {
  return lowerCase(filtering.allowed_hosts).includes(host);
}

/**
 * upstream's get_validated_address before resolution: the scheme, host and port lists of
 * [import_filtering_opts]. A port is only judged when the URI names one, as upstream does. Only http and
 * https can be fetched, whatever the lists say.
 */
export function filterUri(uri: string, filtering: ImportFiltering): FilteredUri {
  if (!uri) throw new UriRefused('empty external URI');
  // Control characters, spaces and backslashes would be dropped or rewritten by one parser and not the other.
  if ([...uri].some((ch) => ch <= ' ' || (ch >= '\u007f' && ch <= '\u009f') || ch === '\\')) {
    throw new UriRefused(`invalid external URI: ${redactedUri(uri)}`);
  }
  const parts = splitUri(uri);
  const schemes = effective(filtering.allowed_schemes, filtering.disallowed_schemes);
  if (
    parts.scheme === '' ||
    (schemes.allowed.length > 0 && !schemes.allowed.includes(parts.scheme)) ||
    schemes.denied.includes(parts.scheme)
  ) {
    throw new UriRefused(`scheme not allowed for external URI: ${redactedUri(uri)}`);
  }
  const host = parts.hostname === null ? null : normalizeHost(parts.hostname);
  const hosts = effective(lowerCase(filtering.allowed_hosts), lowerCase(filtering.disallowed_hosts));
  if (
    host === null ||
    (hosts.allowed.length > 0 && !hosts.allowed.includes(host)) ||
    hosts.denied.includes(host)
  ) {
    throw new UriRefused(`host not allowed for external URI: ${redactedUri(uri)}`);
  }
  const ports = effective(filtering.allowed_ports, filtering.disallowed_ports);
  if (
    parts.port !== null &&
    ((ports.allowed.length > 0 && !ports.allowed.includes(parts.port)) || ports.denied.includes(parts.port))
  ) {
    throw new UriRefused(`port not allowed for external URI: ${redactedUri(uri)}`);
  }
  if (parts.scheme !== 'http' && parts.scheme !== 'https') {
    throw new UriRefused(`only http and https URIs can be downloaded: ${redactedUri(uri)}`);
  }
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new UriRefused(`invalid external URI: ${redactedUri(uri)}`);
  }
  // The request goes where the WHATWG parser says; it must be the host and port that were judged.
  const urlHost = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : withoutRootDot(url.hostname);
  const port = parts.port ?? defaultPort(parts.scheme);
  if (urlHost !== host || Number(url.port || defaultPort(parts.scheme)) !== port) {
    throw new UriRefused(`invalid external URI: ${redactedUri(uri)}`);
  }
  return { url, scheme: parts.scheme, host, port };
}
