import type { Request, Response, Router } from 'express';
import type { GlanceConfig } from '../config/index.js';
import { NotFound, UnsupportedMediaType } from '../domain/errors.js';
import { requireJson } from '../http/json-body.js';
import { requestContext, requestLocals } from '../http/locals.js';
import { requestData } from '../http/request-body.js';
import { sendAccepted, sendNoContent } from '../http/respond.js';
import { param, route } from '../http/routing.js';
import type { ImageDataService } from '../services/image-data.js';
import type { ImageImportService } from '../services/image-import.js';

export interface ImportRouteDeps {
  config: GlanceConfig;
  jsonLimit: number;
  /** Receives staged data. */
  data: ImageDataService;
  imports: ImageImportService;
}

/** PUT /v2/images/{id}/stage and POST /v2/images/{id}/import (upstream's image_data.stage and import_image). */
export function mountImport(router: Router, deps: ImportRouteDeps): void {
  const methods = deps.config.DEFAULT.enabled_import_methods;

  const stage = async (req: Request, res: Response): Promise<void> => {
    if (!methods.includes('glance-direct')) {
      throw new NotFound("'glance-direct' method is not available at this site.");
    }
    const contentType = req.headers['content-type'];
    if (contentType?.split(';')[0]?.trim() !== 'application/octet-stream') throw new UnsupportedMediaType();
    const ctx = requestContext(res);
    await deps.data.stage(ctx, param(req, 'imageId'), requestData(req), requestLocals(res).log);
    sendNoContent(res);
  };

  const importImage = async (req: Request, res: Response): Promise<void> => {
    const request = deps.imports.parse(await requireJson(req, deps.jsonLimit));
    const { log, requestId } = requestLocals(res);
    const { remoteRequestId } = await deps.imports.start(
      requestContext(res),
      {
        imageId: param(req, 'imageId'),
        request,
        headers: req.headers,
        path: req.originalUrl.split('?')[0] ?? req.originalUrl,
        requestId,
      },
      log,
    );
    if (remoteRequestId !== null) res.setHeader('x-openstack-request-id', remoteRequestId);
    sendAccepted(res);
  };

  route(router, '/v2/images/:imageId/stage', 'PUT', { PUT: { handler: stage } });
  route(router, '/v2/images/:imageId/import', 'POST', { POST: { handler: importImage } });
}
