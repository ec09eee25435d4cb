import { z } from 'zod';
import { TASK_COLUMNS, type TaskColumn } from '../db/task-repo.js';
import { Invalid } from '../domain/errors.js';

/** GET /v2/tasks parameters after upstream's RequestDeserializer.index and TasksController.index. */
export interface TaskListParams {
  limit: number;
  marker: string | null;
  sortKey: TaskColumn;
  sortDir: 'asc' | 'desc';
  filters: Partial<Record<TaskColumn, string>>;
  /** dict(request.params): every key once, in first-seen order, with its last value (for the links). */
  params: Map<string, string>;
}

const UUID_LIKE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const STATUSES = ['pending', 'processing', 'success', 'failure'];

const bad = (message: string) => new Invalid(message);

const limitSchema = z.string().transform((text, ctx) => {
  if (!/^\s*[+-]?\d+\s*$/.test(text)) {
    ctx.addIssue({ code: 'custom', message: 'limit param must be an integer' });
    return z.NEVER;
  }
  const limit = Number(text);
  if (limit < 0) {
    ctx.addIssue({ code: 'custom', message: 'limit param must be positive' });
    return z.NEVER;
  }
  return limit;
});

/** Parses the query pairs; `defaults` are [DEFAULT] limit_param_default and api_limit_max. */
export function parseTaskListQuery(
  pairs: Array<[string, string]>,
  defaults: { limitParamDefault: number; apiLimitMax: number },
): TaskListParams {
  const params = new Map<string, string>();
  for (const [key, value] of pairs) params.set(key, value);
  // webob's MultiDict.pop takes a parameter's first value; the filters see what is left.
  const rest = [...pairs];
  const pop = (key: string): string | undefined => {
    const at = rest.findIndex(([k]) => k === key);
    return at < 0 ? undefined : rest.splice(at, 1)[0]?.[1];
  };
  const limitText = pop('limit');
  const marker = pop('marker') ?? null;
  const sortDir = pop('sort_dir') ?? 'desc';
  const sortKey = pop('sort_key') ?? 'created_at';
  if (sortDir !== 'asc' && sortDir !== 'desc') throw bad(`Invalid sort direction: ${sortDir}`);
  const filters = new Map<string, string>();
  for (const [key, value] of rest) filters.set(key, value);
  const status = filters.get('status');
  if (status && !STATUSES.includes(status)) throw bad(`Invalid status value: ${status}`);
  const type = filters.get('type');
  // Upstream only lets the legacy type through this filter.
  if (type && type !== 'import') throw bad(`Invalid type value: ${type}`);
  if (marker && !UUID_LIKE.test(marker)) throw bad('Invalid marker format');
  let limit = defaults.limitParamDefault;
  if (limitText !== undefined) {
    const parsed = limitSchema.safeParse(limitText);
    if (!parsed.success) throw bad(parsed.error.issues[0]?.message ?? 'limit param must be an integer');
    limit = parsed.data;
  }
  if (!(TASK_COLUMNS as readonly string[]).includes(sortKey)) throw bad('Sort key supplied was not valid.');
  const columnFilters: Partial<Record<TaskColumn, string>> = {};
  for (const [key, value] of filters) {
    // The database layer filters on the Task model's columns and ignores anything else; deleted is its own.
    if (key !== 'deleted' && (TASK_COLUMNS as readonly string[]).includes(key)) {
      columnFilters[key as TaskColumn] = value;
    }
  }
  return {
    limit: Math.min(defaults.apiLimitMax, limit),
    marker: marker || null,
    sortKey: sortKey as TaskColumn,
    sortDir,
    filters: columnFilters,
    params,
  };
}
