import { randomUUID } from 'node:crypto';
import type { Request, Response, Router } from 'express';
import type { Policy } from '../auth/policy.js';
import type { TaskRecord } from '../db/task-repo.js';
import type { JsonValue } from '../domain/pyrepr.js';
import { validationMessage, type JsonObject } from '../domain/json-schema.js';
import { queryPairs } from '../domain/list-query.js';
import { schemaDocument } from '../domain/schemas.js';
import type { DomainConfig } from '../domain/types.js';
import { Forbidden, Invalid, NotFound } from '../domain/errors.js';
import { HttpError } from '../http/errors.js';
import { requireJson } from '../http/json-body.js';
import { rawQuery } from '../http/request.js';
import { requestContext, requestLocals } from '../http/locals.js';
import { sendJson } from '../http/respond.js';
import { param, route } from '../http/routing.js';
import type { ImportService } from '../import/import-service.js';
import { legacyImportSourceProblem } from '../import/legacy-import.js';
import { UriRefused } from '../import/uri-filter.js';
import type { ImageAccess } from '../services/image-access.js';
import { parseTaskListQuery } from '../services/task-query.js';
import { formatImageTask, formatTask, formatTaskList } from '../services/task-view.js';

export interface TasksRouteDeps {
  access: ImageAccess;
  policy: Policy;
  service: ImportService;
  domain: DomainConfig;
  jsonLimit: number;
}

/**
 * The (deprecated) tasks API, /v2/tasks and /v2/tasks/{id} (upstream's tasks.py), and an image's import tasks,
 * GET /v2/images/{id}/tasks (images.py get_task_info).
 */
export function mountTasks(router: Router, deps: TasksRouteDeps): void {
  const { access, policy, service, domain } = deps;
  const tasks = service.tasks;
  // Schema.validate uses the raw schema, which (unlike the one served) forbids other properties.
  const taskSchema: JsonObject = { ...schemaDocument('task', domain), additionalProperties: false };

  const scope = (res: Response) => {
    const ctx = requestContext(res);
    return { ctx, scope: { projectId: ctx.projectId, isAdmin: ctx.isAdmin } };
  };

  const create = async (req: Request, res: Response): Promise<void> => {
    const { ctx } = scope(res);
    policy.enforce(ctx, 'tasks_api_access');
    const body = await requireJson(req, deps.jsonLimit);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new Invalid('Request body must be a JSON object.');
    }
    const document = body as JsonObject;
    for (const key of ['type', 'input']) {
      if (!Object.hasOwn(document, key)) throw new Invalid(`Task '${key}' is required`);
    }
    const problem = validationMessage(document, taskSchema);
    if (problem !== null) throw new Invalid(`Provided object does not match schema 'task': ${problem}`);
    const type = document.type as TaskRecord['type'];
    const input = document.input as JsonObject | null;
    if (input === null) throw new Invalid("Task 'input' must be an object");
    if (type === 'import') {
      const source = input.import_from;
      const refused = legacyImportSourceProblem(source);
      if (refused !== null) throw new Invalid(refused);
      try {
        await service.checkExternalUri(source as string);
      } catch (err) {
        if (!(err instanceof UriRefused)) throw err;
        requestLocals(res).log.info({ reason: err.message }, 'legacy import source refused');
        throw new Invalid(`URI for legacy import task does not pass filtering: ${String(source)}`);
      }
    }
    const imageId = input.image_id;
    const task = await tasks.create({
      id: randomUUID(),
      type,
      owner: ctx.projectId ?? '',
      imageId: typeof imageId === 'string' ? imageId : null,
      userId: ctx.userId,
      requestId: requestLocals(res).requestId,
      input,
    });
    service.start(task);
    res.setHeader('Location', `${req.protocol}://${req.get('host') ?? 'localhost'}/v2/tasks/${task.id}`);
    sendJson(res, 201, formatTask(task));
  };

  const list = async (req: Request, res: Response): Promise<void> => {
    const { ctx, scope: who } = scope(res);
    policy.enforce(ctx, 'tasks_api_access');
    const query = parseTaskListQuery(queryPairs(rawQuery(req)), {
      limitParamDefault: domain.limitParamDefault,
      apiLimitMax: domain.apiLimitMax,
    });
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
    const next = page.length > 0 && page.length === query.limit && last ? last.id : null;
    sendJson(res, 200, formatTaskList(page, query.params, next));
  };

  const show = async (req: Request, res: Response): Promise<void> => {
    const { ctx, scope: who } = scope(res);
    policy.enforce(ctx, 'tasks_api_access');
    const id = param(req, 'taskId');
    const task = await tasks.get(id, who);
    if (task === null) throw new NotFound(`Could not find task ${id}`);
    sendJson(res, 200, formatTask(task));
  };

  const remove = (_req: Request, res: Response): void => {
    policy.enforce(requestContext(res), 'tasks_api_access');
    throw new HttpError(
      405,
      undefined,
      { Allow: 'GET' },
      'This operation is currently not permitted on Glance Tasks. They are auto deleted after reaching the ' +
        'time based on their expires_at property.',
    );
  };

  const imageTasks = async (req: Request, res: Response): Promise<void> => {
    const { ctx, scope: who } = scope(res);
    let found;
    try {
      found = await access.find(ctx, param(req, 'imageId'));
      access.enforce(ctx, 'get_image', found);
    } catch (err) {
      // Upstream answers a missing or hidden image with a bare 404.
      if (err instanceof NotFound || err instanceof Forbidden) throw new NotFound();
      throw err;
    }
    const list: JsonValue[] = (await tasks.listForImage(found.image.id, who)).map(formatImageTask);
    // The database dicts go out through jsonutils, which escapes non-ASCII text.
    sendJson(res, 200, { tasks: list }, true);
  };

  route(router, '/v2/tasks', 'GET, POST', {
    GET: { handler: list },
    POST: { handler: create },
  });
  route(router, '/v2/tasks/:taskId', 'GET, DELETE', {
    GET: { handler: show },
    DELETE: { handler: remove },
  });
  // Upstream routes only GET here: any other method finds no route at all (404, not 405).
  router.all('/v2/images/:imageId/tasks', (req, _res, next) =>
    next(req.method === 'GET' ? undefined : 'router'),
  );
  route(router, '/v2/images/:imageId/tasks', 'GET', { GET: { bodyReject: true, handler: imageTasks } });
}
