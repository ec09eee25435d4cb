import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { pythonJson } from '../domain/python-json.js';
import { nowSeconds } from '../domain/clock.js';
import { transaction } from './pool.js';

export const TASK_TYPES = ['import', 'api_image_import'] as const;
export type TaskType = (typeof TASK_TYPES)[number];
export const TASK_STATUSES = ['pending', 'processing', 'success', 'failure'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** One row of `tasks` joined with its `task_info`, as upstream's _task_format returns it. */
export interface TaskRecord {
  id: string;
  type: TaskType;
  status: TaskStatus;
  owner: string;
  expires_at: Date | null;
  created_at: Date;
  updated_at: Date | null;
  deleted_at: Date | null;
  deleted: boolean;
  image_id: string | null;
  request_id: string | null;
  user_id: string | null;
  input: unknown;
  result: unknown;
  message: string | null;
}

export interface NewTask {
  id: string;
  type: TaskType;
  owner: string;
  imageId: string | null;
  userId: string | null;
  requestId: string | null;
  input: unknown;
}

/** How a task ends: with its result, or with the message its owner reads. */
export type TaskOutcome = { status: 'success'; result: unknown } | { status: 'failure'; message: string };

/** Who is asking: upstream shows admins every task and others those their project owns. */
export interface TaskScope {
  projectId: string | null;
  isAdmin: boolean;
}

// Columns a task list may be sorted and filtered by (the Task model's own columns).
export const TASK_COLUMNS = [
  'id',
  'type',
  'status',
  'owner',
  'expires_at',
  'created_at',
  'updated_at',
  'deleted_at',
  'deleted',
  'image_id',
  'request_id',
  'user_id',
] as const;
export type TaskColumn = (typeof TASK_COLUMNS)[number];

export interface TaskListQuery {
  filters: Partial<Record<TaskColumn, string>>;
  /** A task already known to be visible, or null. */
  marker: TaskRecord | null;
  limit: number;
  sortKey: TaskColumn;
  sortDir: 'asc' | 'desc';
}

interface TaskRow extends RowDataPacket {
  id: string;
  type: TaskType;
  status: TaskStatus;
  owner: string;
  expires_at: Date | null;
  created_at: Date;
  updated_at: Date | null;
  deleted_at: Date | null;
  deleted: number;
  image_id: string | null;
  request_id: string | null;
  user_id: string | null;
  input: string | null;
  result: string | null;
  message: string | null;
}

const SELECT_TASK = `SELECT tasks.*, task_info.input, task_info.result, task_info.message
  FROM tasks LEFT JOIN task_info ON task_info.task_id = tasks.id`;

function parseJson(text: string | null): unknown {
  return text === null ? null : (JSON.parse(text) as unknown);
}

// task_info holds JSONEncodedDict text: Python's json.dumps of the value (null stays SQL NULL).
function storedJson(value: unknown): string | null {
  return value === null || value === undefined ? null : pythonJson(value);
}

function toRecord(row: TaskRow): TaskRecord {
  return {
    id: row.id,
    type: row.type,
    status: row.status,
    owner: row.owner,
    expires_at: row.expires_at,
    created_at: row.created_at,
    updated_at: row.updated_at,
    deleted_at: row.deleted_at,
    deleted: Boolean(row.deleted),
    image_id: row.image_id,
    request_id: row.request_id,
    user_id: row.user_id,
    input: parseJson(row.input),
    result: parseJson(row.result),
    message: row.message,
  };
}

/** upstream's _is_task_visible as SQL over `tasks`. */
function visibility(scope: TaskScope, params: unknown[]): string {
  if (scope.isAdmin) return 'TRUE';
  params.push(scope.projectId);
  return '(tasks.owner IS NULL OR tasks.owner = ?)';
}

/** Tasks over upstream's `tasks` and `task_info` tables. */
export class TaskRepository {
  constructor(private readonly pool: Pool) {}

  /** Inserts a pending task and its info in one transaction, as task_create does. */
  async create(task: NewTask): Promise<TaskRecord> {
    const now = nowSeconds();
    await transaction(this.pool, async (conn) => {
      await conn.query(
        `INSERT INTO tasks (id, type, status, owner, expires_at, created_at, updated_at, deleted_at, deleted,
           image_id, request_id, user_id)
         VALUES (?, ?, 'pending', ?, NULL, ?, ?, NULL, 0, ?, ?, ?)`,
        [task.id, task.type, task.owner, now, now, task.imageId, task.requestId, task.userId],
      );
      await conn.query('INSERT INTO task_info (task_id, input, result, message) VALUES (?, ?, NULL, ?)', [
        task.id,
        storedJson(task.input),
        '',
      ]);
    });
    return (await this.find(task.id)) as TaskRecord;
  }

  /** Removes a task that never ran (its import could not take the image's lock). */
  async discard(id: string): Promise<void> {
    await this.pool.query('DELETE FROM task_info WHERE task_id = ?', [id]);
    await this.pool.query("DELETE FROM tasks WHERE id = ? AND status = 'pending'", [id]);
  }

  /** Any task, deleted ones included, whoever owns it (upstream's admin context). */
  async find(id: string): Promise<TaskRecord | null> {
    const [rows] = await this.pool.query<TaskRow[]>(`${SELECT_TASK} WHERE tasks.id = ?`, [id]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** task_get: admins also see deleted tasks; others only live tasks of their project. */
  async get(id: string, scope: TaskScope): Promise<TaskRecord | null> {
    const params: unknown[] = [id];
    const deleted = scope.isAdmin ? '' : ' AND tasks.deleted = 0';
    const where = `tasks.id = ?${deleted} AND ${visibility(scope, params)}`;
    const [rows] = await this.pool.query<TaskRow[]>(`${SELECT_TASK} WHERE ${where}`, params);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** Whether a live task has this id (for upstream's list marker: unknown is 400, invisible is 403). */
  async exists(id: string): Promise<boolean> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT 1 FROM tasks WHERE id = ? AND deleted = 0',
      [id],
    );
    return rows.length > 0;
  }

  /** _task_soft_delete: the project's tasks past expires_at are marked deleted whenever tasks are listed. */
  private async expire(scope: TaskScope): Promise<void> {
    const now = nowSeconds();
    await this.pool.query(
      `UPDATE tasks SET deleted = 1, deleted_at = ?
        WHERE owner <=> ? AND deleted = 0 AND expires_at <= ?`,
      [now, scope.projectId, now],
    );
  }

  /** tasks_get_by_image: the image's unexpired tasks the caller may see, oldest first. */
  async listForImage(imageId: string, scope: TaskScope): Promise<TaskRecord[]> {
    await this.expire(scope);
    const params: unknown[] = [imageId, nowSeconds()];
    const deleted = scope.isAdmin ? '' : ' AND tasks.deleted = 0';
    const [rows] = await this.pool.query<TaskRow[]>(
      `${SELECT_TASK}
        WHERE tasks.image_id = ? AND (tasks.expires_at IS NULL OR tasks.expires_at >= ?)${deleted}
          AND ${visibility(scope, params)}
        ORDER BY tasks.created_at, tasks.id`,
      params,
    );
    return rows.map(toRecord);
  }

  /** task_get_all for GET /v2/tasks: live tasks, sorted by the key then created_at and id, paged by marker. */
  async list(scope: TaskScope, query: TaskListQuery): Promise<TaskRecord[]> {
    await this.expire(scope);
    const params: unknown[] = [];
    const where = ['tasks.deleted = 0'];
    if (!scope.isAdmin && scope.projectId !== null) {
      where.push('tasks.owner = ?');
      params.push(scope.projectId);
    }
    for (const [column, value] of Object.entries(query.filters)) {
      where.push(`tasks.${column} = ?`);
      params.push(value);
    }
    const keys = [...new Set<TaskColumn>([query.sortKey, 'created_at', 'id'])];
    const dir = query.sortDir === 'desc' ? 'DESC' : 'ASC';
    if (query.marker !== null) {
      const marker = query.marker;
      const criteria = keys.map((key, i) => {
        const parts = keys.slice(0, i).map((prior) => {
          params.push(markerValue(marker, prior));
          return `tasks.${prior} <=> ?`;
        });
        params.push(markerValue(marker, key));
        parts.push(`tasks.${key} ${dir === 'DESC' ? '<' : '>'} ?`);
        return `(${parts.join(' AND ')})`;
      });
      where.push(`(${criteria.join(' OR ')})`);
    }
    params.push(query.limit);
    const [rows] = await this.pool.query<TaskRow[]>(
      `${SELECT_TASK} WHERE ${where.join(' AND ')}
        ORDER BY ${keys.map((k) => `tasks.${k} ${dir}`).join(', ')} LIMIT ?`,
      params,
    );
    return rows.map(toRecord);
  }

  /** begin_processing: pending → processing; false when the task had already moved on. */
  async beginProcessing(id: string): Promise<boolean> {
    const [result] = await this.pool.query<ResultSetHeader>(
      "UPDATE tasks SET status = 'processing', updated_at = ? WHERE id = ? AND status = 'pending'",
      [nowSeconds(), id],
    );
    return result.affectedRows === 1;
  }

  /**
   * succeed/fail: a pending or processing task ends, expiring `ttlHours` later (task_time_to_live); returns that
   * expiry. Null when it had already ended (another process failed it, say).
   */
  async finish(id: string, outcome: TaskOutcome, ttlHours: number): Promise<Date | null> {
    const now = nowSeconds();
    const expires = new Date(now.getTime() + ttlHours * 3_600_000);
    return transaction(this.pool, async (conn) => {
      const [result] = await conn.query<ResultSetHeader>(
        `UPDATE tasks SET status = ?, expires_at = ?, updated_at = ?
          WHERE id = ? AND status IN ('pending', 'processing')`,
        [outcome.status, expires, now, id],
      );
      if (result.affectedRows === 1) {
        await conn.query(
          outcome.status === 'success'
            ? 'UPDATE task_info SET result = ? WHERE task_id = ?'
            : 'UPDATE task_info SET message = ? WHERE task_id = ?',
          [outcome.status === 'success' ? storedJson(outcome.result) : outcome.message, id],
        );
      }
      return result.affectedRows === 1 ? expires : null;
    });
  }

  /** A progress message on a processing task (which also renews its updated_at); false once it has ended. */
  async reportProgress(id: string, message: string): Promise<boolean> {
    const [result] = await this.pool.query<ResultSetHeader>(
      "UPDATE tasks SET updated_at = ? WHERE id = ? AND status = 'processing'",
      [nowSeconds(), id],
    );
    if (result.affectedRows !== 1) return false;
    await this.pool.query('UPDATE task_info SET message = ? WHERE task_id = ?', [message, id]);
    return true;
  }
}

function markerValue(task: TaskRecord, key: TaskColumn): string | number | Date | null {
  const value = task[key];
  return typeof value === 'boolean' ? Number(value) : value;
}
