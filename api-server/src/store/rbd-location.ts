import { StoreError } from './errors.js';

/** glance_store's rbd StoreLocation: `rbd://<fsid>/<pool>/<image>/<snapshot>`, or the legacy `rbd://<image>`. */
export interface RbdLocation {
  fsid: string | null;
  pool: string | null;
  image: string;
  snapshot: string | null;
}

const PREFIX = 'rbd://';

/** urllib.parse.quote(s, safe=''): everything but ASCII letters, digits and `_.-~` is percent-encoded. */
export function pyQuote(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** urllib.parse.unquote: valid %XX runs become UTF-8 (invalid bytes → U+FFFD); anything else stays as written. */
export function pyUnquote(s: string): string {
  return s.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) =>
    Buffer.from(run.replace(/%/g, ''), 'hex').toString('utf8'),
  );
}

/** StoreLocation.get_uri(). */
export function formatRbdLocation(loc: RbdLocation): string {
  if (loc.fsid && loc.pool && loc.snapshot) {
    return `${PREFIX}${[loc.fsid, loc.pool, loc.image, loc.snapshot].map(pyQuote).join('/')}`;
  }
  return `${PREFIX}${loc.image}`;
}

// BadStoreUri(message=reason): the reason is the whole message.
function badUri(reason: string): StoreError {
  return new StoreError('bad-location', reason);
}

/** StoreLocation.parse_uri(), with its BadStoreUri reasons. */
export function parseRbdLocation(uri: string): RbdLocation {
  if (!uri.startsWith(PREFIX)) {
    throw badUri(`Location URI must start with one of the following schemas: ${PREFIX}`);
  }
  const pieces = uri.slice(PREFIX.length).split('/');
  if (pieces.length !== 1 && pieces.length !== 4) throw badUri('URI must have exactly 1 or 4 components');
  if (pieces.some((p) => p === '')) throw badUri('URI cannot contain empty components');
  if (pieces.length === 1) return { fsid: null, pool: null, image: uri.slice(PREFIX.length), snapshot: null };
  const [fsid, pool, image, snapshot] = pieces.map(pyUnquote) as [string, string, string, string];
  return { fsid, pool, image, snapshot };
}
