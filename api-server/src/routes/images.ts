import type { Request, Response, Router } from 'express';
import { parseListQuery } from '../domain/list-query.js';
import { parsePatch, PATCH_MEDIA_TYPES } from '../domain/patch.js';
import { formatImage, formatImages } from '../domain/represent.js';
import type { DomainConfig } from '../domain/types.js';
import { HttpError } from '../http/errors.js';
import { readJson, requireJson } from '../http/json-body.js';
import { absoluteUrl, rawQuery } from '../http/request.js';
import { requestContext, requestLocals } from '../http/locals.js';
import { sendJson, sendNoContent } from '../http/respond.js';
import { param, route } from '../http/routing.js';
import type { ImageDeletion } from '../services/image-deletion.js';
import type { Images } from '../services/images.js';

export interface ImagesRouteDeps {
  images: Images;
  deletion: ImageDeletion;
  domain: DomainConfig;
  jsonLimit: number;
  /** [DEFAULT] enabled_import_methods, announced on create. */
  importMethods: string[];
}

/** /v2/images and /v2/images/{id}: list, create, show, PATCH and delete (upstream's images.py). */
export function mountImages(router: Router, deps: ImagesRouteDeps): void {
  const { images, domain } = deps;

  const list = async (req: Request, res: Response): Promise<void> => {
    const ctx = requestContext(res);
    const query = parseListQuery(rawQuery(req), domain);
    const page = await images.list(ctx, query);
    sendJson(res, 200, formatImages(page, rawQuery(req), domain, ctx));
  };

  const create = async (req: Request, res: Response): Promise<void> => {
    const body = await requireJson(req, deps.jsonLimit);
    const ctx = requestContext(res);
    const image = await images.create(ctx, body, requestLocals(res).log);
    res.setHeader('Location', absoluteUrl(req, `/v2/images/${image.id}`));
    if (deps.importMethods.length > 0)
      res.setHeader('OpenStack-image-import-methods', deps.importMethods.join(','));
    if (domain.enabledBackends.length > 0)
      res.setHeader('OpenStack-image-store-ids', domain.enabledBackends.join(','));
    sendJson(res, 201, formatImage(image, domain, ctx));
  };

  const show = async (req: Request, res: Response): Promise<void> => {
    const ctx = requestContext(res);
    sendJson(res, 200, formatImage(await images.get(ctx, param(req, 'imageId')), domain, ctx));
  };

  const update = async (req: Request, res: Response): Promise<void> => {
    const contentType = req.headers['content-type'];
    // The media type is checked before the body is read, as upstream's deserializer does.
    if (!(((contentType ?? '').split(';', 1)[0] ?? '').trim() in PATCH_MEDIA_TYPES)) {
      throw new HttpError(415, undefined, {
        'Accept-Patch': Object.keys(PATCH_MEDIA_TYPES).sort().join(', '),
      });
    }
    const ops = parsePatch(contentType, await readJson(req, deps.jsonLimit), domain);
    const ctx = requestContext(res);
    const image = await images.update(ctx, param(req, 'imageId'), ops, requestLocals(res).log);
    sendJson(res, 200, formatImage(image, domain, ctx));
  };

  const remove = async (req: Request, res: Response): Promise<void> => {
    const { remoteRequestId } = await deps.deletion.remove(
      requestContext(res),
      param(req, 'imageId'),
      req.originalUrl.split('?')[0] ?? req.originalUrl,
      requestLocals(res).log,
    );
    if (remoteRequestId !== null) res.setHeader('x-openstack-request-id', remoteRequestId);
    sendNoContent(res);
  };

  const removeFromStore = async (req: Request, res: Response): Promise<void> => {
    await deps.deletion.removeFromStore(
      requestContext(res),
      param(req, 'storeId'),
      param(req, 'imageId'),
      requestLocals(res).log,
    );
    sendNoContent(res);
  };

  route(router, '/v2/images', 'GET, POST', {
    GET: { handler: list },
    POST: { handler: create },
  });
  route(router, '/v2/images/:imageId', 'GET, PATCH, DELETE', {
    GET: { bodyReject: true, handler: show },
    PATCH: { handler: update },
    DELETE: { bodyReject: true, handler: remove },
  });
  route(router, '/v2/stores/:storeId/:imageId', 'DELETE', {
    DELETE: { bodyReject: true, handler: removeFromStore },
  });
}
