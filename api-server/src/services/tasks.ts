import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { RequestContext } from '../domain/request-context.js';
import type { Policy } from '../auth/policy.js';
import type { TaskRecord, TaskScope } from '../db/task-repo.js';
import { Forbidden, Invalid, NotFound } from '../domain/errors.js';
import { validationMessage, type JsonObject } from '../domain/json-schema.js';
import { schemaDocument } from '../domain/schemas.js';
import type { DomainConfig } from '../domain/types.js';
import type { ImportService } from '../import/import-service.js';
import { legacyImportSourceProblem } from '../import/legacy-import.js';
import { UriRefused } from '../net/uri-filter.js';
import type { ImageAccess } from './image-access.js';
import type { TaskListParams } from './task-query.js';

export interface TasksDeps {
  access: ImageAccess;
  policy: Policy;
  imports: ImportService;
  domain: DomainConfig;
}

/** Who is asking: upstream shows admins every task and others those their project owns. */
function scopeOf(ctx: RequestContext): TaskScope {
  return { projectId: ctx.projectId, isAdmin: ctx.isAdmin };
}

/**
 * The (deprecated) tasks API (upstream's tasks.py) and an image's import tasks (images.py get_task_info).
 */
export class Tasks {
  // Schema.validate uses the raw schema, which (unlike the one served) forbids other properties.
  readonly #taskSchema: JsonObject;

  constructor(private readonly deps: TasksDeps) {
    this.#taskSchema = { ...schemaDocument('task', deps.domain), additionalProperties: false };
  }

  /** The tasks_api_access policy every /v2/tasks call passes first (before its body is read). */
  enforceAccess(ctx: RequestContext): void {
    this.deps.policy.enforce(ctx, 'tasks_api_access');
  }

  /** POST /v2/tasks: `body` checked as upstream's deserializer does, then the task started. */
  async create(ctx: RequestContext, body: unknown, requestId: string, log: Logger): Promise<TaskRecord> {
    const { imports } = this.deps;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new Invalid('Request body must be a JSON object.');
    }
    const document = body as JsonObject;
    for (const key of ['type', 'input']) {
      if (!Object.hasOwn(document, key)) throw new Invalid(`Task '${key}' is required`);
    }
    const problem = validationMessage(document, this.#taskSchema);
    if (problem !== null) throw new Invalid(`Provided object does not match schema 'task': ${problem}`);
    const type = document.type as TaskRecord['type'];
    const input = document.input as JsonObject | null;
    if (input === null) throw new Invalid("Task 'input' must be an object");
    if (type === 'import') {
      const source = input.import_from;
      const refused = legacyImportSourceProblem(source);
      if (refused !== null) throw new Invalid(refused);
      try {
        await imports.checkExternalUri(source as string);
      } catch (err) {
        if (!(err instanceof UriRefused)) throw err;
        log.info({ reason: err.message }, 'legacy import source refused');
        throw new Invalid(`URI for legacy import task does not pass filtering: ${String(source)}`);
      }
    }
    const imageId = input.image_id;
    const task = await imports.tasks.create({
      id: randomUUID(),
      type,
      owner: ctx.projectId ?? '',
      imageId: typeof imageId === 'string' ? imageId : null,
      userId: ctx.userId,
      requestId,
      input,
    });
    imports.events.taskCreated(task);
    imports.start(task);
    return task;
  }

  /** GET /v2/tasks: one page of the caller's tasks. */
  async list(
    ctx: RequestContext,
    query: TaskListParams,
  ): Promise<{ page: TaskRecord[]; next: string | null }> {
    const tasks = this.deps.imports.tasks;
    const who = scopeOf(ctx);
    let marker: TaskRecord | null = null;
    if (query.marker !== null) {
      marker = await tasks.get(query.marker, who);
      if (marker === null) {
        if (await tasks.exists(query.marker)) {
          throw new Forbidden(`Forbidding request, task ${query.marker} not visible`);
        }
        throw new Invalid(`Task with the given id ${query.marker} was not found`);
      }
    }
    const page = await tasks.list(who, { ...query, marker });
    const last = page[page.length - 1];
    return { page, next: page.length > 0 && page.length === query.limit && last ? last.id : null };
  }

  /** GET /v2/tasks/{id}. */
  async get(ctx: RequestContext, id: string): Promise<TaskRecord> {
    const task = await this.deps.imports.tasks.get(id, scopeOf(ctx));
    if (task === null) throw new NotFound(`Could not find task ${id}`);
    return task;
  }

  /** GET /v2/images/{id}/tasks: a missing or hidden image is a bare 404, as upstream answers. */
  async forImage(ctx: RequestContext, imageId: string): Promise<TaskRecord[]> {
    const { access } = this.deps;
    let found;
    try {
      found = await access.find(ctx, imageId);
      access.enforce(ctx, 'get_image', found);
    } catch (err) {
      if (err instanceof NotFound || err instanceof Forbidden) throw new NotFound();
      throw err;
    }
    return this.deps.imports.tasks.listForImage(found.image.id, scopeOf(ctx));
  }
}
