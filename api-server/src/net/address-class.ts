import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** Why an address is no place for the server to fetch image data from on a user's behalf. */
export type InternalAddressClass =
  'unspecified' | 'loopback' | 'link-local' | 'private' | 'multicast' | 'reserved';

type Range = [network: string, prefix: number];

// IANA's special-purpose registries (RFC 6890 and successors): nothing here is a public web server.
const V4: Record<InternalAddressClass, Range[]> = {
  unspecified: [['0.0.0.0', 8]],
  loopback: [['127.0.0.0', 8]],
  'link-local': [['169.254.0.0', 16]],
  // RFC 1918, and RFC 6598 carrier-grade NAT space, which is just as internal to a provider.
  private: [
    ['10.0.0.0', 8],
    ['172.16.0.0', 12],
    ['192.168.0.0', 16],
    ['100.64.0.0', 10],
  ],
  multicast: [['224.0.0.0', 4]],
  reserved: [
    ['192.0.0.0', 24],
    ['192.0.2.0', 24],
    ['192.88.99.0', 24],
    ['198.18.0.0', 15],
    ['198.51.100.0', 24],
    ['203.0.113.0', 24],
    ['240.0.0.0', 4],
  ],
};

const V6: Record<InternalAddressClass, Range[]> = {
  unspecified: [['::', 128]],
  loopback: [['::1', 128]],
  'link-local': [['fe80::', 10]],
  // Unique local addresses, and the deprecated site-local block that meant the same.
  private: [
    ['fc00::', 7],
    ['fec0::', 10],
  ],
  multicast: [['ff00::', 8]],
  reserved: [
    ['100::', 64],
    ['2001::', 23],
    ['2001:db8::', 32],
  ],
};

function blockLists(ranges: Record<InternalAddressClass, Range[]>, type: 'ipv4' | 'ipv6') {
  return (Object.entries(ranges) as Array<[InternalAddressClass, Range[]]>).map(([cls, list]) => {
    const blocks = new BlockList();
    for (const [net, prefix] of list) blocks.addSubnet(net, prefix, type);
    return [cls, blocks] as const;
  });
}

const V4_LISTS = blockLists(V4, 'ipv4');
const V6_LISTS = blockLists(V6, 'ipv6');

/** The 16 bytes of an IPv6 address in any RFC 4291 spelling (zone index excluded), or null. */
export function ipv6Bytes(text: string): number[] | null {
  if (!isIPv6(text)) return null;
  let head = text;
  const tail: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    tail.push(...dotted[1].split('.').map(Number));
    head = text.slice(0, -dotted[1].length);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const groups = (s: string): number[] =>
    s === '' ? [] : s.split(':').flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]);
  const [left = '', right] = head.split('::');
  const front = groups(left);
  const back = [...(right === undefined ? [] : groups(right)), ...tail];
  const zeros = 16 - front.length - back.length;
  return [...front, ...new Array<number>(zeros).fill(0), ...back];
}

// IPv6 forms that carry an IPv4 address a connection may end up at: IPv4-mapped, IPv4-compatible, NAT64
// (RFC 6052) and 6to4 (RFC 3056). They are judged by the IPv4 address inside.
function embeddedIpv4(bytes: number[]): string | null {
  const prefixIs = (prefix: number[]): boolean => prefix.every((b, i) => bytes[i] === b);
  const quad = (at: number): string => bytes.slice(at, at + 4).join('.');
  const zero10 = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  if (prefixIs([...zero10, 0xff, 0xff])) return quad(12);
  if (prefixIs([...zero10, 0, 0]) && bytes.slice(12).some((b) => b !== 0) && quad(12) !== '0.0.0.1') {
    return quad(12);
  }
  if (prefixIs([0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0])) return quad(12);
  if (prefixIs([0x20, 0x02])) return quad(2);
  return null;
}

/**
 * The internal class of an IP address (IPv4, or IPv6 with or without a zone index), or null for an address on
 * the public internet. Anything that is not an IP address at all is 'reserved'.
 */
export function internalAddressClass(address: string): InternalAddressClass | null {
  const ip = address.split('%')[0] ?? '';
  if (isIPv4(ip)) return V4_LISTS.find(([, blocks]) => blocks.check(ip, 'ipv4'))?.[0] ?? null;
  const bytes = ipv6Bytes(ip);
  if (bytes === null) return 'reserved';
  const v4 = embeddedIpv4(bytes);
  if (v4 !== null) return internalAddressClass(v4);
  return V6_LISTS.find(([, blocks]) => blocks.check(ip, 'ipv6'))?.[0] ?? null;
}
