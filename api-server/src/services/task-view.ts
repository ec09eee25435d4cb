import type { TaskRecord } from '../db/task-repo.js';
import type { JsonValue } from '../domain/pyrepr.js';
import { isoTime } from '../domain/represent.js';

// The JSON upstream writes for tasks: tasks.py's ResponseSerializer (get, create, index) and, for
// GET /v2/images/{id}/tasks, the database dicts as jsonutils serialises them.

function selfLink(task: TaskRecord): string {
  return `/v2/tasks/${task.id}`;
}

/** oslo.serialization's to_primitive for datetimes: '%Y-%m-%dT%H:%M:%S.%f' in UTC. */
function primitiveTime(at: Date | null): string | null {
  return at === null
    ? null
    : `${at.toISOString().slice(0, 19)}.${String(at.getUTCMilliseconds() * 1000).padStart(6, '0')}`;
}

/** GET /v2/tasks/{id} and the POST /v2/tasks response (_format_task, keys in upstream's order). */
export function formatTask(task: TaskRecord): Record<string, JsonValue> {
  const view: Record<string, JsonValue> = {
    id: task.id,
    input: task.input as JsonValue,
    type: task.type,
    status: task.status,
    owner: task.owner,
    // The domain Task turns a missing message into ''.
    message: task.message ?? '',
    result: task.result as JsonValue,
    created_at: isoTime(task.created_at),
    updated_at: isoTime(task.updated_at ?? task.created_at),
    self: selfLink(task),
    schema: '/v2/schemas/task',
  };
  if (task.image_id) view.image_id = task.image_id;
  if (task.request_id) view.request_id = task.request_id;
  if (task.user_id) view.user_id = task.user_id;
  if (task.expires_at) view.expires_at = isoTime(task.expires_at);
  return view;
}

/** One entry of GET /v2/tasks (_format_task_stub). */
export function formatTaskStub(task: TaskRecord): Record<string, JsonValue> {
  const view: Record<string, JsonValue> = {
    id: task.id,
    type: task.type,
    status: task.status,
    owner: task.owner,
    created_at: isoTime(task.created_at),
    updated_at: isoTime(task.updated_at ?? task.created_at),
    self: selfLink(task),
    schema: '/v2/schemas/task',
  };
  if (task.expires_at) view.expires_at = isoTime(task.expires_at);
  return view;
}

/** urllib.parse.urlencode of (key, value) pairs: quote_plus spelling. */
function urlencode(params: Map<string, string>): string {
  return new URLSearchParams([...params]).toString().replace(/\*/g, '%2A').replace(/%7E/g, '~');
}

/** GET /v2/tasks: the stubs and the paging links, which repeat the request's own parameters. */
export function formatTaskList(
  tasks: TaskRecord[],
  params: Map<string, string>,
  nextMarker: string | null,
): Record<string, JsonValue> {
  const query = new Map(params);
  query.delete('marker');
  const body: Record<string, JsonValue> = {
    tasks: tasks.map(formatTaskStub),
    first: query.size > 0 ? `/v2/tasks?${urlencode(query)}` : '/v2/tasks',
    schema: '/v2/schemas/tasks',
  };
  if (nextMarker !== null) {
    query.set('marker', nextMarker);
    body.next = `/v2/tasks?${urlencode(query)}`;
  }
  return body;
}

/** One task of GET /v2/images/{id}/tasks: upstream returns the database's own dict. */
export function formatImageTask(task: TaskRecord): Record<string, JsonValue> {
  return {
    id: task.id,
    type: task.type,
    status: task.status,
    owner: task.owner,
    expires_at: primitiveTime(task.expires_at),
    created_at: primitiveTime(task.created_at),
    updated_at: primitiveTime(task.updated_at),
    deleted_at: primitiveTime(task.deleted_at),
    deleted: task.deleted,
    image_id: task.image_id,
    request_id: task.request_id,
    user_id: task.user_id,
    input: task.input as JsonValue,
    result: task.result as JsonValue,
    message: task.message,
  };
}
