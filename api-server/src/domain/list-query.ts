import { z } from 'zod';
import { Invalid } from './errors.js';
import { parseIsoTime } from './iso8601.js';
import { emptyRecord } from './records.js';
import {
  MEMBER_STATUSES,
  SORT_KEYS,
  VISIBILITIES,
  type CompareOp,
  type DomainConfig,
  type EqualsColumn,
  type ListFilters,
  type ListQuery,
  type ListVisibility,
  type MemberStatusFilter,
  type OneOfColumn,
  type RangeColumn,
  type SortDir,
  type SortKey,
  type TimeCondition,
} from './types.js';

// GET /v2/images query parameters: upstream's RequestDeserializer.index, ImagesController.index and the
// filter handling of the database layer (image_get_all, _make_conditions_from_filters), in that order.

/** The query string as express parses it, or as URLSearchParams (which keeps repeated keys in order). */
export type RawQuery = URLSearchParams | Record<string, unknown>;

const recordQuery = z.record(z.string(), z.union([z.string(), z.array(z.string())]).optional());

/** The query as upstream's webob MultiDict holds it: ordered (key, value) pairs. */
export function queryPairs(query: RawQuery): [string, string][] {
  if (query instanceof URLSearchParams) return [...query.entries()];
  const parsed = recordQuery.safeParse(query);
  if (!parsed.success) throw new Invalid('Invalid query string.');
  const pairs: [string, string][] = [];
  for (const [key, value] of Object.entries(parsed.data)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) pairs.push([key, v]);
  }
  return pairs;
}

// webob.MultiDict semantics: get() answers the last value, pop() takes the first.
class MultiDict {
  constructor(private readonly items: [string, string][]) {}

  has(key: string): boolean {
    return this.items.some(([k]) => k === key);
  }

  get(key: string): string | undefined {
    for (let i = this.items.length - 1; i >= 0; i -= 1)
      if (this.items[i]![0] === key) return this.items[i]![1];
    return undefined;
  }

  pop(key: string): string | undefined {
    const index = this.items.findIndex(([k]) => k === key);
    if (index < 0) return undefined;
    return this.items.splice(index, 1)[0]![1];
  }

  /** dict(multidict): keys in first-seen order, each with its last value. */
  toDict(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [k, v] of this.items) out.set(k, v);
    return out;
  }
}

function badRequest(message: string): Invalid {
  return new Invalid(message);
}

// Python's int() of a string.
function pyInt(text: string): number | null {
  const trimmed = text.trim();
  if (!/^[+-]?\d+(?:_\d+)*$/.test(trimmed)) return null;
  return Number(trimmed.replaceAll('_', ''));
}

function parseLimit(text: string): number {
  const limit = pyInt(text);
  if (limit === null) throw badRequest('limit param must be an integer');
  if (limit < 0) throw badRequest('limit param must be positive');
  return limit;
}

function sortKey(key: string): SortKey {
  if (!(SORT_KEYS as readonly string[]).includes(key)) {
    throw badRequest(`Invalid sort key: ${key}. It must be one of the following: ${SORT_KEYS.join(', ')}.`);
  }
  return key as SortKey;
}

function sortDir(dir: string): SortDir {
  if (dir !== 'asc' && dir !== 'desc') throw badRequest(`Invalid sort direction: ${dir}`);
  return dir;
}

// Classic: sort_key=a&sort_dir=asc&sort_key=b. New: sort=a:asc,b (each direction defaults to desc).
function sortingParams(params: MultiDict): { keys: SortKey[]; dirs: SortDir[] } {
  const keys: SortKey[] = [];
  const dirs: SortDir[] = [];
  if (params.has('sort')) {
    if (params.has('sort_key') || params.has('sort_dir')) {
      throw badRequest('Old and new sorting syntax cannot be combined');
    }
    for (const part of params.pop('sort')!.trim().split(',')) {
      const sep = part.indexOf(':');
      const key = sep < 0 ? part : part.slice(0, sep);
      const dir = sep < 0 ? '' : part.slice(sep + 1);
      keys.push(sortKey(key.trim()));
      dirs.push(sortDir((dir || 'desc').trim()));
    }
  } else {
    while (params.has('sort_key')) keys.push(sortKey(params.pop('sort_key')!.trim()));
    while (params.has('sort_dir')) dirs.push(sortDir(params.pop('sort_dir')!.trim()));
    if (dirs.length > 1 && dirs.length !== keys.length) {
      throw badRequest('Number of sort dirs does not match the number of sort keys');
    }
  }
  return { keys: keys.length > 0 ? keys : ['created_at'], dirs: dirs.length > 0 ? dirs : ['desc'] };
}

// image_get_all: one direction applies to every key; created_at and id are appended as tiebreakers.
function sortSpec(keys: SortKey[], dirs: SortDir[]): ListQuery['sort'] {
  const fallback: SortDir = dirs.length === 1 ? dirs[0]! : 'desc';
  const sort = keys.map((key, i) => ({ key, dir: dirs.length === 1 ? fallback : dirs[i]! }));
  for (const key of ['created_at', 'id'] as const) {
    if (!keys.includes(key)) sort.push({ key, dir: fallback });
  }
  return sort;
}

/** utils.split_filter_op: "op:value", unless the whole text is already an ISO 8601 time. */
function splitFilterOp(expression: string): { op: string; value: string } {
  const sep = expression.indexOf(':');
  if (sep < 0) return { op: 'eq', value: expression };
  if (parseIsoTime(expression) !== null) return { op: 'eq', value: expression };
  return { op: expression.slice(0, sep), value: expression.slice(sep + 1) };
}

function validateQuotes(value: string): void {
  let open = true;
  for (let i = 0; i < value.length; i += 1) {
    if (value[i] !== '"') continue;
    if (i > 0 && value[i - 1] === '\\') continue;
    if (open) {
      if (i > 0 && value[i - 1] !== ',') {
        throw badRequest(`Invalid filter value ${value}. There is no comma before opening quotation mark.`);
      }
    } else if (i + 1 !== value.length && value[i + 1] !== ',') {
      throw badRequest(`Invalid filter value ${value}. There is no comma after closing quotation mark.`);
    }
    open = !open;
  }
  if (!open) throw badRequest(`Invalid filter value ${value}. The quote is not closed.`);
}

/** utils.split_filter_value_for_quotes: `in:` lists, where "quoted, values" may hold commas. */
export function splitInList(value: string): string[] {
  validateQuotes(value);
  const out: string[] = [];
  for (const m of value.matchAll(/"([^"\\]*(?:\\.[^"\\]*)*)",?|([^,]+),?|,/g)) out.push(m[1] || m[2] || '');
  return out;
}

const COMPARE_OPS: readonly CompareOp[] = ['gt', 'gte', 'lt', 'lte', 'eq', 'neq'];

function timeCondition(key: 'created_at' | 'updated_at', expression: string): TimeCondition {
  const { op, value } = splitFilterOp(expression);
  const time = parseIsoTime(value);
  if (time === null) throw badRequest(`Bad "${key}" query filter format. Use ISO 8601 DateTime notation.`);
  if (!COMPARE_OPS.includes(op as CompareOp)) throw badRequest('Unable to filter on a unknown operator.');
  return { op: op as CompareOp, value: time };
}

function oneOfValues(expression: string): string[] {
  const { op, value } = splitFilterOp(expression);
  if (op === 'in') return splitInList(value);
  if (op === 'eq') return [value];
  throw badRequest(`Unable to filter by unknown operator '${op}'.`);
}

const ONE_OF_COLUMNS: readonly OneOfColumn[] = ['name', 'id', 'status', 'container_format', 'disk_format'];
const EQUALS_COLUMNS: readonly EqualsColumn[] = [
  'owner',
  'checksum',
  'os_hash_algo',
  'os_hash_value',
  'size',
  'virtual_size',
  'min_disk',
  'min_ram',
];

const RANGE_COLUMNS: readonly RangeColumn[] = ['virtual_size', 'min_disk', 'min_ram'];

function booleanFilter(name: 'os_hidden' | 'protected', value: string): boolean {
  if (value !== 'true' && value !== 'false') {
    throw badRequest(`Invalid value '${value}' for '${name}' filter. Valid values are 'true' or 'false'.`);
  }
  return value === 'true';
}

// _make_conditions_from_filters over what is left of the query once the named parameters are taken out.
function columnFilters(params: MultiDict, filters: ListFilters): void {
  const rest = params.toDict();
  for (const key of ['os_hidden', 'protected', 'visibility', 'deleted']) rest.delete(key);
  for (const [key, value] of rest) {
    if (key.endsWith('_min') || key.endsWith('_max')) {
      const bound = pyInt(value);
      if (bound === null) throw badRequest('Unable to filter on a range with a non-numeric value.');
      const column = key.slice(0, -4);
      if (column === 'size') {
        if (key.endsWith('_min')) filters.size_min = bound;
        else filters.size_max = bound;
      } else if ((RANGE_COLUMNS as readonly string[]).includes(column)) {
        filters.ranges.push({
          column: column as RangeColumn,
          op: key.endsWith('_min') ? 'gte' : 'lte',
          value: bound,
        });
      } else {
        // Upstream fails with a 500 on a range over anything but an integer column.
        throw badRequest('Unable to filter using the specified range.');
      }
    } else if (key === 'created_at' || key === 'updated_at') {
      filters[key] = timeCondition(key, value);
    } else if ((ONE_OF_COLUMNS as readonly string[]).includes(key)) {
      filters.oneOf[key as OneOfColumn] = oneOfValues(value);
    } else if ((EQUALS_COLUMNS as readonly string[]).includes(key)) {
      filters.equals[key as EqualsColumn] = value;
    } else {
      filters.properties[key] = value;
    }
  }
}

/**
 * Reads the GET /v2/images query. The repository resolves `marker` (unknown → 400, as upstream) and applies
 * `limit` (already capped at api_limit_max).
 * @throws Invalid with upstream's messages
 */
export function parseListQuery(
  query: RawQuery,
  cfg: Pick<DomainConfig, 'limitParamDefault' | 'apiLimitMax'>,
): ListQuery {
  const params = new MultiDict(queryPairs(query));
  const limitText = params.pop('limit');
  const marker = params.pop('marker') ?? null;
  const memberStatus = params.pop('member_status') ?? 'accepted';
  const tags: string[] = [];
  while (params.has('tag')) tags.push(params.pop('tag')!.trim());

  const visibility = params.get('visibility');
  if (visibility && !([...VISIBILITIES, 'all'] as string[]).includes(visibility)) {
    throw badRequest(`Invalid visibility value: ${visibility}`);
  }
  // Upstream lets an empty changes-since through to a 500; either way the filter is gone.
  if (params.has('changes-since')) {
    throw badRequest('The "changes-since" filter is no longer available on v2.');
  }
  if (!(['all', ...MEMBER_STATUSES] as string[]).includes(memberStatus)) {
    throw badRequest(`Invalid status: ${memberStatus}`);
  }
  const limit = limitText === undefined ? cfg.limitParamDefault : parseLimit(limitText);
  const { keys, dirs } = sortingParams(params);

  const filters: ListFilters = {
    visibility: visibility ? (visibility as ListVisibility) : null,
    member_status: memberStatus as MemberStatusFilter,
    os_hidden: booleanFilter('os_hidden', (params.get('os_hidden') ?? 'false').toLowerCase()),
    protected: null,
    tags,
    size_min: null,
    size_max: null,
    ranges: [],
    created_at: null,
    updated_at: null,
    oneOf: {},
    equals: {},
    properties: emptyRecord<string>(),
  };
  const protectedText = params.get('protected');
  if (protectedText !== undefined) filters.protected = booleanFilter('protected', protectedText);
  columnFilters(params, filters);

  return { limit: Math.min(cfg.apiLimitMax, limit), marker, sort: sortSpec(keys, dirs), filters };
}
