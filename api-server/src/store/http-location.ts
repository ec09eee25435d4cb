import { StoreError } from './errors.js';

/** glance_store's http StoreLocation: `http(s)://[user:password@]netloc/path[?query]`. */
export interface HttpLocation {
  scheme: 'http' | 'https';
  netloc: string;
  user: string | null;
  password: string | null;
  path: string;
  query: string;
}

const SCHEMES = ['https://', 'http://'];

function badUri(uri: string, reason?: string): StoreError {
  return new StoreError('bad-location', reason ?? `The Store URI was malformed: ${uri}`);
}

/** StoreLocation.parse_uri(), with its BadStoreUri reasons (the URI is never logged: it may carry a password). */
export function parseHttpLocation(uri: string): HttpLocation {
  if (!SCHEMES.some((s) => uri.startsWith(s))) {
    throw badUri(uri, `Location URI must start with one of the following schemas: ${SCHEMES.join(', ')}`);
  }
  const scheme = uri.startsWith('https://') ? 'https' : 'http';
  // urlparse: the netloc runs to the first '/', '?' or '#'.
  const rest = uri.slice(scheme.length + 3);
  const end = rest.search(/[/?#]/);
  let netloc = end < 0 ? rest : rest.slice(0, end);
  const tail = end < 0 ? '' : rest.slice(end);
  const hash = tail.indexOf('#');
  const beforeHash = hash < 0 ? tail : tail.slice(0, hash);
  const q = beforeHash.indexOf('?');
  const path = q < 0 ? beforeHash : beforeHash.slice(0, q);
  const query = q < 0 ? '' : beforeHash.slice(q + 1);
  let user: string | null = null;
  let password: string | null = null;
  if (netloc.includes('@')) {
    const parts = netloc.split('@');
    if (parts.length !== 2) throw badUri(uri);
    const creds = parts[0]!.split(':');
    if (creds.length !== 2) throw badUri(uri, 'Credentials are not well-formatted.');
    [user, password] = creds as [string, string];
    netloc = parts[1]!;
  }
  if (netloc === '') throw badUri(uri);
  const delimiter = (netloc.match(/:/g) ?? []).length > 1 ? ']:' : ':';
  const at = netloc.indexOf(delimiter);
  const port = at < 0 ? '' : netloc.slice(at + delimiter.length);
  if (port !== '' && !/^[0-9]+$/.test(port)) throw badUri(uri);
  return { scheme, netloc, user, password, path, query };
}

/** StoreLocation.get_uri(). */
export function formatHttpLocation(loc: HttpLocation): string {
  const creds = loc.user ? `${loc.user}:${loc.password ?? ''}@` : '';
  return `${loc.scheme}://${creds}${loc.netloc}${loc.path}${loc.query ? `?${loc.query}` : ''}`;
}
