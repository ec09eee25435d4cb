import { randomUUID } from 'node:crypto';
import type { Request, Response, Router } from 'express';
import type { Logger } from 'pino';
import type { RequestContext } from '../auth/context.js';
import type { Policy } from '../auth/policy.js';
import type { GlanceConfig } from '../config/index.js';
import type { ImageRepository } from '../db/image-repo.js';
import type { TaskRecord } from '../db/task-repo.js';
import { checkStatusTransition } from '../domain/status.js';
import type { DomainConfig, ImageRecord } from '../domain/types.js';
import { HttpError } from '../http/errors.js';
import { requireJson } from '../http/json-body.js';
import { requestContext, requestLocals } from '../http/locals.js';
import { sendAccepted, sendNoContent } from '../http/respond.js';
import { param, route } from '../http/routing.js';
import { IMPORT_LOCK, STAGE_HOST } from '../import/bookkeeping.js';
import { copyTargets } from '../import/copy-image.js';
import { ImageGone, type ImportRepository } from '../import/import-repo.js';
import {
  parseImportRequest,
  requestedStores,
  type ImportMethod,
  type ImportRequest,
} from '../import/import-request.js';
import { ImportService } from '../import/import-service.js';
import type { StageHosts } from '../import/stage-host.js';
import { UriRefused } from '../import/uri-filter.js';
import { StoreError } from '../store/errors.js';
import { IMAGE_TOO_LARGE } from '../store/limit.js';
import type { StoreRegistry } from '../store/registry.js';
import { NO_QUOTAS, type Quotas } from '../quota/quotas.js';
import type { ImageAccess, VisibleImage } from './image-access.js';
import { receiveRequestBody, storeFailure } from './image-data.js';
import { mountTasks } from './tasks.js';

export interface ImportRouteDeps {
  access: ImageAccess;
  images: ImageRepository;
  service: ImportService;
  config: GlanceConfig;
  jsonLimit: number;
  /** Keystone unified limits (image_stage_total, image_count_uploading, image_size_total); none by default. */
  quotas?: Quotas;
  /** Distributed import: this worker's URL, and the proxy to the worker holding an image's staged data. */
  stageHosts: StageHosts;
}

export interface ImportApiDeps {
  config: GlanceConfig;
  domain: DomainConfig;
  images: ImageRepository;
  stores: StoreRegistry;
  policy: Policy;
  logger: Logger;
  jsonLimit: number;
  quotas?: Quotas;
  stageHosts: StageHosts;
}

/**
 * Interoperable image import and tasks: creates this process's ImportService (which cleans the staging area
 * of residue, as upstream does at start-up) and mounts the stage, import and task routes.
 */
export function mountImportApi(router: Router, access: ImageAccess, deps: ImportApiDeps): void {
  const service = new ImportService(deps);
  service.sweepStaging();
  mountImport(router, {
    access,
    images: deps.images,
    service,
    config: deps.config,
    jsonLimit: deps.jsonLimit,
    quotas: deps.quotas ?? NO_QUOTAS,
    stageHosts: deps.stageHosts,
  });
  mountTasks(router, {
    access,
    policy: deps.policy,
    service,
    domain: deps.domain,
    jsonLimit: deps.jsonLimit,
  });
}

/** upstream's import_image checks of the image itself, in its order (409s). */
function checkImportable(image: ImageRecord, method: ImportMethod): void {
  const conflict = (message: string) => new HttpError(409, message);
  if (image.status === 'active' && method !== 'copy-image') {
    throw conflict('Image with status active cannot be target for import');
  }
  if (image.status !== 'active' && method === 'copy-image') {
    throw conflict('Only images with status active can be targeted for copying');
  }
  if (image.status !== 'queued' && (method === 'web-download' || method === 'glance-download')) {
    throw conflict(`Image needs to be in 'queued' state to use '${method}' method`);
  }
  if (image.status !== 'uploading' && method === 'glance-direct') {
    throw conflict("Image needs to be staged before 'glance-direct' method can be used");
  }
  // Staging records the size last: without it the data is still arriving, or its upload died half-way.
  if (method === 'glance-direct' && image.size === null) {
    throw conflict('Image data is still being staged, or its staging was interrupted: it cannot be imported');
  }
  if (!image.container_format) throw conflict("'container_format' needs to be set before import");
  if (!image.disk_format) throw conflict("'disk_format' needs to be set before import");
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** glance-download's own parameters, checked as upstream does before it would contact the other region. */
function checkGlanceDownload(request: ImportRequest): void {
  const method = request.body.method as Record<string, unknown>;
  if (!Object.hasOwn(method, 'glance_region')) {
    throw new HttpError(400, "'glance_region' needs to be set for glance-download import method");
  }
  if (!Object.hasOwn(method, 'glance_image_id')) {
    throw new HttpError(400, "'glance_image_id' needs to be set for glance-download import method");
  }
  const remote = method.glance_image_id;
  if (typeof remote !== 'string' || !UUID.test(remote.replace(/^urn:uuid:/i, '').replace(/[{}]/g, ''))) {
    throw new HttpError(400, `Remote image id does not look like a UUID: ${String(remote)}`);
  }
  // Recorded in the task's import_req, as upstream completes the body.
  if (!Object.hasOwn(method, 'glance_service_interface')) method.glance_service_interface = 'public';
}

/** The stores an import writes to: [null] (the one store) without enabled_backends, else named backends. */
function importStores(req: Request, request: ImportRequest, config: GlanceConfig): Array<string | null> {
  const backends = config.DEFAULT.enabled_backends;
  const defaultBackend = config.glance_store.default_backend;
  if (!backends || defaultBackend === null) return [null];
  return requestedStores(
    request,
    req.headers,
    backends.map((b) => b.name),
    defaultBackend,
    backends.filter((b) => b.type === 'http').map((b) => b.name),
  );
}

/** Methods this server recognises but cannot run here: refused with the reason. */
function unavailableMethod(method: ImportMethod, config: GlanceConfig): HttpError | null {
  if (method === 'copy-image' && !config.DEFAULT.enabled_backends) {
    return new HttpError(
      400,
      "Import method 'copy-image' is not available at this site: it copies image data between stores, " +
        'and [DEFAULT] enabled_backends configures none.',
    );
  }
  return null;
}

// The request body is left unread: the client must not send it on this connection.
const closing = (err: HttpError) => new HttpError(err.status, err.explanation, { Connection: 'close' });

/** PUT /v2/images/{id}/stage and POST /v2/images/{id}/import (upstream's image_data.stage and import_image). */
function mountImport(router: Router, deps: ImportRouteDeps): void {
  const { access, images, service, config, stageHosts } = deps;
  const imports: ImportRepository = service.imports;
  const methods = config.DEFAULT.enabled_import_methods;
  const quotas = deps.quotas ?? NO_QUOTAS;

  const stage = async (req: Request, res: Response): Promise<void> => {
    if (!methods.includes('glance-direct')) {
      throw new HttpError(404, "'glance-direct' method is not available at this site.");
    }
    const contentType = req.headers['content-type'];
    if (contentType?.split(';')[0]?.trim() !== 'application/octet-stream') throw new HttpError(415);
    const ctx = requestContext(res);
    const { log } = requestLocals(res);
    await quotas.enforce(ctx.projectId, 'image_stage_total').catch((err: unknown) => {
      throw err instanceof HttpError ? closing(err) : err;
    });
    const found = await access.find(ctx, param(req, 'imageId'));
    access.enforceMutation(ctx, 'modify_image', found);
    const image = found.image;
    const transition = checkStatusTransition(image, 'uploading');
    if (!transition.ok) throw new HttpError(409, transition.message);
    if (!(await images.transition(image.id, 'queued', 'uploading'))) {
      const now = await images.get(image.id);
      throw new HttpError(
        409,
        `Image status transition from ${now?.status ?? 'deleted'} to uploading is not allowed`,
      );
    }
    const restore = async (): Promise<void> => {
      if (!(await images.transition(image.id, 'uploading', 'queued'))) {
        log.warn({ imageId: image.id }, 'staging failed and the image was no longer uploading');
      }
    };
    try {
      await quotas.enforce(ctx.projectId, 'image_count_uploading');
    } catch (err) {
      await restore();
      throw err instanceof HttpError ? closing(err) : err;
    }
    let size: number;
    try {
      const staged = await receiveRequestBody(req, (body) =>
        service.staging.write(image.id, body, {
          bytes: config.DEFAULT.image_size_cap,
          explanation: IMAGE_TOO_LARGE,
        }),
      );
      size = staged.size;
    } catch (err) {
      await restore();
      if (err instanceof StoreError && err.kind === 'duplicate') {
        throw new HttpError(409, `The image ${image.id} has data on staging`);
      }
      if (err instanceof StoreError) throw storeFailure(err, image.id);
      if (err instanceof HttpError) throw new HttpError(err.status, err.explanation, { Connection: 'close' });
      if (!req.complete) {
        log.info({ imageId: image.id, err }, 'staging aborted by the client; image back to queued');
        throw new HttpError(400, 'The upload was interrupted before all data arrived.', {
          Connection: 'close',
        });
      }
      throw err;
    }
    try {
      await imports.change(image.id, null, (current) => {
        if (current.status !== 'uploading') {
          throw new HttpError(
            409,
            `Image status transition from ${current.status} to uploading is not allowed`,
          );
        }
        // Other workers send the import of this image here, where its data is.
        const selfUrl = stageHosts.selfUrl;
        return { size, ...(selfUrl ? { setProperties: { [STAGE_HOST]: selfUrl } } : {}) };
      });
    } catch (err) {
      if (!(err instanceof ImageGone)) throw err;
      await service.staging.remove(image.id);
      throw new HttpError(404, `No image found with ID ${image.id}`);
    }
    log.info({ imageId: image.id, size }, 'image data staged');
    sendNoContent(res);
  };

  const authorize = (ctx: RequestContext, method: ImportMethod, found: VisibleImage): void => {
    if (method === 'copy-image') access.enforce(ctx, 'copy_image', found);
    else access.enforceMutation(ctx, 'modify_image', found);
  };

  const importImage = async (req: Request, res: Response): Promise<void> => {
    const request = parseImportRequest(await requireJson(req, deps.jsonLimit), methods);
    const ctx = requestContext(res);
    const { log, requestId } = requestLocals(res);
    await quotas.enforce(ctx.projectId, 'image_size_total');
    const found = await access.find(ctx, param(req, 'imageId'));
    const image = found.image;
    checkImportable(image, request.method);
    if (request.method === 'glance-download') checkGlanceDownload(request);
    authorize(ctx, request.method, found);
    const unavailable = unavailableMethod(request.method, config);
    if (unavailable) throw unavailable;
    const holderId = image.properties[IMPORT_LOCK];
    let stale: TaskRecord | null = null;
    if (holderId) {
      const broken = await service.breakStaleLock(image.id, holderId);
      if (broken === null) throw new HttpError(409, 'Image has active task');
      stale = broken.holder;
    }
    let stores = importStores(req, request, config);
    if (request.method === 'copy-image') {
      stores = copyTargets(
        image,
        stores.filter((s): s is string => s !== null),
        request.allStores,
      );
      if (stores.length === 0) {
        log.info({ imageId: image.id }, 'copy-image: the image is already in every store');
        sendAccepted(res);
        return;
      }
    }
    if (!request.allStoresMustSucceed && !config.DEFAULT.enabled_backends) {
      throw new HttpError(
        400,
        `All_stores_must_succeed can only be set with enabled_backends ${typeof request.uri === 'string' ? request.uri : 'None'}`,
      );
    }
    // The data is staged on another worker: that one imports it, as if the user had asked it.
    const stageHost = request.method === 'glance-direct' ? stageHosts.holderOf(image) : null;
    if (stageHost !== null) {
      const path = req.originalUrl.split('?')[0] ?? req.originalUrl;
      const remoteId = await stageHosts.proxy(
        stageHost,
        { method: 'POST', path, authToken: ctx.authToken, body: request.body },
        log,
      );
      if (remoteId !== null) res.setHeader('x-openstack-request-id', remoteId);
      sendAccepted(res);
      return;
    }
    if (request.method === 'web-download') {
      const uri = typeof request.uri === 'string' ? request.uri : '';
      try {
        await service.checkExternalUri(uri);
      } catch (err) {
        if (!(err instanceof UriRefused)) throw err;
        log.info({ imageId: image.id, reason: err.message }, 'web-download URI refused');
        throw new HttpError(400, `URI for web-download does not pass filtering: ${uri || 'None'}`);
      }
    }
    const task = await service.tasks.create({
      id: randomUUID(),
      type: 'api_image_import',
      owner: ctx.projectId ?? '',
      imageId: image.id,
      userId: ctx.userId,
      requestId,
      input: { image_id: image.id, import_req: request.body, backend: stores },
    });
    if (!(await imports.claimLock(image.id, task.id))) {
      await service.tasks.discard(task.id);
      throw new HttpError(
        409,
        `New operation on image '${image.id}' is not permitted as prior operation is still in progress`,
      );
    }
    if (stale) await service.cleanupStaleProgress(image.id, task.id, stale);
    service.start(task, ctx.authToken);
    log.info({ imageId: image.id, taskId: task.id, method: request.method }, 'image import accepted');
    sendAccepted(res);
  };

  route(router, '/v2/images/:imageId/stage', 'PUT', { PUT: { handler: stage } });
  route(router, '/v2/images/:imageId/import', 'POST', { POST: { handler: importImage } });
}
