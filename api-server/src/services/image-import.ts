import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import type { RequestContext } from '../domain/request-context.js';
import type { GlanceConfig } from '../config/index.js';
import type { TaskRecord } from '../db/task-repo.js';
import { Conflict, Invalid } from '../domain/errors.js';
import type { ImageRecord } from '../domain/types.js';
import { IMPORT_LOCK } from '../import/bookkeeping.js';
import { copyTargets } from '../import/copy-image.js';
import {
  parseImportRequest,
  requestedStores,
  type ImportMethod,
  type ImportRequest,
} from '../import/import-request.js';
import type { ImportService } from '../import/import-service.js';
import type { StageHosts } from '../import/stage-host.js';
import { UriRefused } from '../net/uri-filter.js';
import type { Quotas } from '../quota/quotas.js';
import type { ImageAccess, VisibleImage } from './image-access.js';

export interface ImageImportDeps {
  access: ImageAccess;
  imports: ImportService;
  config: GlanceConfig;
  /** Keystone unified limits (image_size_total). */
  quotas: Quotas;
  /** Distributed import: the proxy to the worker holding an image's staged data. */
  stageHosts: StageHosts;
}

/** What the caller of an import asked, as the API edge read it. */
export interface ImportCall {
  imageId: string;
  request: ImportRequest;
  /** The request's headers (x-image-meta-store). */
  headers: IncomingHttpHeaders;
  /** The request path, for a proxied import. */
  path: string;
  requestId: string;
}

/** upstream's import_image checks of the image itself, in its order (409s). */
function checkImportable(image: ImageRecord, method: ImportMethod): void {
  const conflict = (message: string) => new Conflict(message);
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
    throw new Invalid("'glance_region' needs to be set for glance-download import method");
  }
  if (!Object.hasOwn(method, 'glance_image_id')) {
    throw new Invalid("'glance_image_id' needs to be set for glance-download import method");
  }
  const remote = method.glance_image_id;
  if (typeof remote !== 'string' || !UUID.test(remote.replace(/^urn:uuid:/i, '').replace(/[{}]/g, ''))) {
    throw new Invalid(`Remote image id does not look like a UUID: ${String(remote)}`);
  }
  // Recorded in the task's import_req, as upstream completes the body.
  if (!Object.hasOwn(method, 'glance_service_interface')) method.glance_service_interface = 'public';
}

/** The stores an import writes to: [null] (the one store) without enabled_backends, else named backends. */
function importStores(
  headers: IncomingHttpHeaders,
  request: ImportRequest,
  config: GlanceConfig,
): Array<string | null> {
  const backends = config.DEFAULT.enabled_backends;
  const defaultBackend = config.glance_store.default_backend;
  if (!backends || defaultBackend === null) return [null];
  return requestedStores(
    request,
    headers,
    backends.map((b) => b.name),
    defaultBackend,
    backends.filter((b) => b.type === 'http').map((b) => b.name),
  );
}

/** Methods this server recognises but cannot run here: refused with the reason. */
function unavailableMethod(method: ImportMethod, config: GlanceConfig): Invalid | null {
  if (method === 'copy-image' && !config.DEFAULT.enabled_backends) {
    return new Invalid(
      "Import method 'copy-image' is not available at this site: it copies image data between stores, " +
        'and [DEFAULT] enabled_backends configures none.',
    );
  }
  return null;
}

/**
 * POST /v2/images/{id}/import (upstream's import_image): the request checked against the image, its lock and
 * the site, then either passed on to the worker holding the staged data or started here as a task.
 */
export class ImageImportService {
  constructor(private readonly deps: ImageImportDeps) {}

  /** A request body read as upstream's deserializer does, against this site's enabled import methods. */
  parse(body: unknown): ImportRequest {
    return parseImportRequest(body, this.deps.config.DEFAULT.enabled_import_methods);
  }

  /**
   * Starts the import here as a task, or has the stage host start it (its request id is returned), or does
   * nothing when copy-image finds the image in every store already.
   */
  async start(
    ctx: RequestContext,
    call: ImportCall,
    log: Logger,
  ): Promise<{ remoteRequestId: string | null }> {
    const { access, imports, config, stageHosts } = this.deps;
    const { request } = call;
    await this.deps.quotas.enforce(ctx.projectId, 'image_size_total');
    const found = await access.find(ctx, call.imageId);
    const image = found.image;
    checkImportable(image, request.method);
    if (request.method === 'glance-download') checkGlanceDownload(request);
    this.authorize(ctx, request.method, found);
    const unavailable = unavailableMethod(request.method, config);
    if (unavailable) throw unavailable;
    const holderId = image.properties[IMPORT_LOCK];
    let stale: TaskRecord | null = null;
    if (holderId) {
      const broken = await imports.breakStaleLock(image.id, holderId);
      if (broken === null) throw new Conflict('Image has active task');
      stale = broken.holder;
    }
    let stores = importStores(call.headers, request, config);
    if (request.method === 'copy-image') {
      stores = copyTargets(
        image,
        stores.filter((s): s is string => s !== null),
        request.allStores,
      );
      if (stores.length === 0) {
        log.info({ imageId: image.id }, 'copy-image: the image is already in every store');
        return { remoteRequestId: null };
      }
    }
    if (!request.allStoresMustSucceed && !config.DEFAULT.enabled_backends) {
      throw new Invalid(
        `All_stores_must_succeed can only be set with enabled_backends ${typeof request.uri === 'string' ? request.uri : 'None'}`,
      );
    }
    // The data is staged on another worker: that one imports it, as if the user had asked it.
    const stageHost = request.method === 'glance-direct' ? stageHosts.holderOf(image) : null;
    if (stageHost !== null) {
      const remoteRequestId = await stageHosts.proxy(
        stageHost,
        { method: 'POST', path: call.path, authToken: ctx.authToken, body: request.body },
        log,
      );
      return { remoteRequestId };
    }
    if (request.method === 'web-download') {
      const uri = typeof request.uri === 'string' ? request.uri : '';
      try {
        await imports.checkExternalUri(uri);
      } catch (err) {
        if (!(err instanceof UriRefused)) throw err;
        log.info({ imageId: image.id, reason: err.message }, 'web-download URI refused');
        throw new Invalid(`URI for web-download does not pass filtering: ${uri || 'None'}`);
      }
    }
    const task = await imports.tasks.create({
      id: randomUUID(),
      type: 'api_image_import',
      owner: ctx.projectId ?? '',
      imageId: image.id,
      userId: ctx.userId,
      requestId: call.requestId,
      input: { image_id: image.id, import_req: request.body, backend: stores },
    });
    if (!(await imports.imports.claimLock(image.id, task.id))) {
      await imports.tasks.discard(task.id);
      throw new Conflict(
        `New operation on image '${image.id}' is not permitted as prior operation is still in progress`,
      );
    }
    if (stale) await imports.cleanupStaleProgress(image.id, task.id, stale);
    // upstream adds the task (task.create) once it holds the lock and has cleaned up after a stale one.
    imports.events.taskCreated(task);
    imports.start(task, ctx.authToken);
    log.info({ imageId: image.id, taskId: task.id, method: request.method }, 'image import accepted');
    return { remoteRequestId: null };
  }

  private authorize(ctx: RequestContext, method: ImportMethod, found: VisibleImage): void {
    const { access } = this.deps;
    if (method === 'copy-image') access.enforce(ctx, 'copy_image', found);
    else access.enforceMutation(ctx, 'modify_image', found);
  }
}
