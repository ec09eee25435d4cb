import type { Request, Response, Router } from 'express';
import type { JsonValue } from '../domain/pyrepr.js';
import { queryPairs } from '../domain/list-query.js';
import type { DomainConfig } from '../domain/types.js';
import { HttpError } from '../http/errors.js';
import { requireJson } from '../http/json-body.js';
import { absoluteUrl, rawQuery } from '../http/request.js';
import { requestContext, requestLocals } from '../http/locals.js';
import { sendJson } from '../http/respond.js';
import { param, route } from '../http/routing.js';
import { parseTaskListQuery } from '../services/task-query.js';
import { formatImageTask, formatTask, formatTaskList } from '../services/task-view.js';
import type { Tasks } from '../services/tasks.js';

export interface TasksRouteDeps {
  tasks: Tasks;
  domain: DomainConfig;
  jsonLimit: number;
}

/**
 * The (deprecated) tasks API, /v2/tasks and /v2/tasks/{id} (upstream's tasks.py), and an image's import tasks,
 * GET /v2/images/{id}/tasks (images.py get_task_info).
 */
export function mountTasks(router: Router, deps: TasksRouteDeps): void {
  const { tasks, domain } = deps;

  const create = async (req: Request, res: Response): Promise<void> => {
    const ctx = requestContext(res);
    tasks.enforceAccess(ctx);
    const body = await requireJson(req, deps.jsonLimit);
    const { requestId, log } = requestLocals(res);
    const task = await tasks.create(ctx, body, requestId, log);
    res.setHeader('Location', absoluteUrl(req, `/v2/tasks/${task.id}`));
    sendJson(res, 201, formatTask(task));
  };

  const list = async (req: Request, res: Response): Promise<void> => {
    const ctx = requestContext(res);
    tasks.enforceAccess(ctx);
    const query = parseTaskListQuery(queryPairs(rawQuery(req)), {
      limitParamDefault: domain.limitParamDefault,
      apiLimitMax: domain.apiLimitMax,
    });
    const { page, next } = await tasks.list(ctx, query);
    sendJson(res, 200, formatTaskList(page, query.params, next));
  };

  const show = async (req: Request, res: Response): Promise<void> => {
    const ctx = requestContext(res);
    tasks.enforceAccess(ctx);
    sendJson(res, 200, formatTask(await tasks.get(ctx, param(req, 'taskId'))));
  };

  const remove = (_req: Request, res: Response): void => {
    tasks.enforceAccess(requestContext(res));
    throw new HttpError(
      405,
      undefined,
      { Allow: 'GET' },
      'This operation is currently not permitted on Glance Tasks. They are auto deleted after reaching the ' +
        'time based on their expires_at property.',
    );
  };

  const imageTasks = async (req: Request, res: Response): Promise<void> => {
    const list: JsonValue[] = (await tasks.forImage(requestContext(res), param(req, 'imageId'))).map(
      formatImageTask,
    );
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
