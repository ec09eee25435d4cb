import { Invalid } from './errors.js';
import {
  NAMESPACE_COLUMNS,
  TAG_COLUMNS,
  type NamespaceColumn,
  type NamespaceListQuery,
  type SortDir,
  type TagColumn,
  type TagListQuery,
} from './metadef-types.js';

// Query strings of the metadef list and show calls, read the way upstream's metadef RequestDeserializers and
// controllers read webob's MultiDict: pop() takes a key's first value, get() and [] its last.

export interface ListLimits {
  /** [DEFAULT] limit_param_default */
  limitParamDefault: number;
  /** [DEFAULT] api_limit_max */
  apiLimitMax: number;
}

class QueryParams {
  private readonly items: [string, string][];

  constructor(query: URLSearchParams) {
    this.items = [...query.entries()];
  }

  get(key: string): string | undefined {
    for (let i = this.items.length - 1; i >= 0; i -= 1)
      if (this.items[i]![0] === key) return this.items[i]![1];
    return undefined;
  }

  pop(key: string): string | undefined {
    const index = this.items.findIndex(([k]) => k === key);
    return index < 0 ? undefined : this.items.splice(index, 1)[0]![1];
  }

  has(key: string): boolean {
    return this.items.some(([k]) => k === key);
  }
}

const badRequest = (message: string): Invalid => new Invalid(message);

// Python's int() of a string.
function pyInt(text: string): number | null {
  const trimmed = text.trim();
  if (!/^[+-]?\d+(?:_\d+)*$/.test(trimmed)) return null;
  return Number(trimmed.replaceAll('_', ''));
}

// Upstream's int() here is unguarded and a bad limit is a 500; its own message for the case is the better answer.
function parseLimit(text: string): number {
  const limit = pyInt(text);
  if (limit === null) throw badRequest('limit param must be an integer');
  return limit;
}

function sortDir(text: string): SortDir {
  if (text !== 'asc' && text !== 'desc') throw badRequest(`Invalid sort direction: ${text}`);
  return text;
}

function checkVisibility(params: QueryParams, allowed: readonly string[]): void {
  const visibility = params.get('visibility');
  if (visibility && !allowed.includes(visibility))
    throw badRequest(`Invalid visibility value: ${visibility}`);
}

// paginate_query refuses keys that are not columns (upstream lets that surface as a 500).
function sortKeys<K extends string>(key: string, columns: readonly K[]): K[] {
  if (!(columns as readonly string[]).includes(key)) throw badRequest(`Sort key supplied is invalid: ${key}`);
  const keys: string[] = ['created_at', 'id'];
  if (!keys.includes(key)) keys.unshift(key);
  return keys as K[];
}

/** GET /v2/metadefs/namespaces */
export function parseNamespaceListQuery(query: URLSearchParams, limits: ListLimits): NamespaceListQuery {
  const params = new QueryParams(query);
  const rawLimit = params.pop('limit');
  const marker = params.pop('marker');
  const rawDir = params.pop('sort_dir') ?? 'desc';
  const limit = Math.min(limits.apiLimitMax, parseLimit(rawLimit ?? String(limits.limitParamDefault)));
  const sortKey = params.pop('sort_key') ?? 'created_at';
  const dir = sortDir(rawDir);
  checkVisibility(params, ['public', 'private']);
  if (limit < 0) throw badRequest('limit param must be positive');
  const keys = sortKeys<NamespaceColumn>(sortKey, NAMESPACE_COLUMNS);
  const resourceTypes = params.has('resource_types') ? (params.get('resource_types') ?? '').split(',') : null;
  // The database layer pops the filter, so it filters on the first value while the check above read the last.
  const visibility = params.pop('visibility');
  return {
    limit,
    marker: marker ?? null,
    sortKeys: keys,
    sortDir: dir,
    visibility: visibility ?? null,
    resourceTypes,
  };
}

/** GET /v2/metadefs/namespaces/{ns}/tags */
export function parseTagListQuery(query: URLSearchParams): TagListQuery {
  const params = new QueryParams(query);
  const rawLimit = params.pop('limit');
  const marker = params.pop('marker');
  const rawDir = params.pop('sort_dir') ?? 'desc';
  const sortKey = params.pop('sort_key') ?? 'created_at';
  const dir = sortDir(rawDir);
  checkVisibility(params, ['public', 'private', 'shared']);
  let limit: number | null = null;
  if (rawLimit) {
    limit = parseLimit(rawLimit);
    if (limit < 0) throw badRequest('limit param must be positive');
  }
  return { limit, marker: marker || null, sortKeys: sortKeys<TagColumn>(sortKey, TAG_COLUMNS), sortDir: dir };
}

/**
 * GET /v2/metadefs/namespaces/{ns}/objects: upstream checks these parameters and then lists every object of
 * the namespace regardless of them.
 */
export function checkObjectListQuery(query: URLSearchParams): void {
  const params = new QueryParams(query);
  const rawLimit = params.pop('limit');
  params.pop('marker');
  sortDir(params.pop('sort_dir') ?? 'desc');
  checkVisibility(params, ['public', 'private', 'shared']);
  if (rawLimit !== undefined && parseLimit(rawLimit) <= 0) throw badRequest('limit param must be positive');
}

/** GET /v2/metadefs/namespaces/{ns}: the visibility check, then the optional `resource_type` prefixing. */
export function parseNamespaceShowQuery(query: URLSearchParams): { resourceType: string | null } {
  const params = new QueryParams(query);
  checkVisibility(params, ['public', 'private']);
  return { resourceType: params.get('resource_type') || null };
}

/** GET /v2/metadefs/namespaces/{ns}/properties/{name}: the optional `resource_type` whose prefix is stripped. */
export function parsePropertyShowQuery(query: URLSearchParams): { resourceType: string | null } {
  return { resourceType: new QueryParams(query).get('resource_type') || null };
}

// urllib.parse.quote_plus: only letters, digits and _.-~ stay as they are.
function quotePlus(text: string): string {
  let out = '';
  for (const byte of new TextEncoder().encode(text)) {
    const ch = String.fromCharCode(byte);
    if (/[A-Za-z0-9_.~-]/.test(ch)) out += ch;
    else if (ch === ' ') out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * The `first` and `next` links of a namespace page: dict(request.params) (each key once, first-seen order, last
 * value) without the marker, urlencoded; `next` adds the new marker at the end.
 */
export function namespacePageLinks(
  query: URLSearchParams,
  nextMarker: string | null,
): { first: string; next?: string } {
  const params = new Map<string, string>();
  for (const [k, v] of query.entries()) params.set(k, v);
  params.delete('marker');
  const encode = (): string => [...params].map(([k, v]) => `${quotePlus(k)}=${quotePlus(v)}`).join('&');
  const base = '/v2/metadefs/namespaces';
  const first = params.size > 0 ? `${base}?${encode()}` : base;
  if (nextMarker === null) return { first };
  params.set('marker', nextMarker);
  return { first, next: `${base}?${encode()}` };
}
