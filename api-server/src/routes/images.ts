import { randomUUID } from 'node:crypto';
import type { Request, Response, Router } from 'express';
import type { RequestContext } from '../domain/request-context.js';
import type { Policy, PolicyTarget } from '../auth/policy.js';
import type { ImageRepository } from '../db/image-repo.js';
import { parseCreateBody, type CreateTarget } from '../domain/create.js';
import { parseListQuery } from '../domain/list-query.js';
import { applyPatch, parsePatch, PATCH_MEDIA_TYPES, type PatchAuthorization } from '../domain/patch.js';
import { formatImage, formatImages } from '../domain/represent.js';
import type { DomainConfig, ImageRecord } from '../domain/types.js';
import { Forbidden, NotFound } from '../domain/errors.js';
import { HttpError } from '../http/errors.js';
import { readJson, requireJson } from '../http/json-body.js';
import { absoluteUrl, rawQuery } from '../http/request.js';
import { requestContext, requestLocals } from '../http/locals.js';
import { sendJson, sendNoContent } from '../http/respond.js';
import { param, route } from '../http/routing.js';
import type { ImportFiltering } from '../import/uri-filter.js';
import { NO_QUOTAS, type Quotas } from '../quota/quotas.js';
import type { StoreRegistry } from '../store/registry.js';
import type { ImageAccess, VisibleImage } from '../services/image-access.js';
import type { ImageDeletion } from '../services/image-deletion.js';
import { LocationRules } from '../services/image-locations.js';

export interface ImagesRouteDeps {
  access: ImageAccess;
  images: ImageRepository;
  stores: StoreRegistry;
  /** [import_filtering_opts], which http(s) locations must pass. */
  filtering: ImportFiltering;
  policy: Policy;
  domain: DomainConfig;
  jsonLimit: number;
  /** [DEFAULT] enabled_import_methods, announced on create. */
  importMethods: string[];
  /** Keystone unified limits (image_count_total); none by default. */
  quotas?: Quotas;
  deletion: ImageDeletion;
}

/** /v2/images and /v2/images/{id}: list, create, show, PATCH and delete (upstream's images.py). */
export function mountImages(router: Router, deps: ImagesRouteDeps): void {
  const { access, images, stores, policy, domain } = deps;
  const locationRules = new LocationRules({ stores, filtering: deps.filtering });

  /** _enforce_visibility: a public or community image needs its own policy, without the 404 translation. */
  const enforceVisibility = (ctx: RequestContext, visibility: unknown, target: PolicyTarget): void => {
    if (visibility === 'public') policy.enforce(ctx, 'publicize_image', target);
    else if (visibility === 'community') policy.enforce(ctx, 'communitize_image', target);
  };

  const list = async (req: Request, res: Response): Promise<void> => {
    const ctx = requestContext(res);
    const query = parseListQuery(rawQuery(req), domain);
    policy.enforce(ctx, 'get_images', { owner: ctx.projectId });
    const marker = query.marker === null ? null : await access.marker(ctx, query.marker);
    const page = await images.list(ctx, query, marker);
    const shown: ImageRecord[] = [];
    for (const image of page) {
      if (access.check(ctx, 'get_image', { image })) shown.push(image);
    }
    // The page was full in the database even if policy then hid some images: there may be more.
    const last = shown[shown.length - 1];
    const nextMarker = page.length === query.limit && last ? last.id : null;
    sendJson(res, 200, formatImages({ images: shown, nextMarker }, rawQuery(req), domain, ctx));
  };

  const create = async (req: Request, res: Response): Promise<void> => {
    const body = await requireJson(req, deps.jsonLimit);
    const ctx = requestContext(res);
    const changes = parseCreateBody(body, ctx, {
      config: domain,
      authorize: (target: CreateTarget) => {
        const policyTarget = { owner: target.owner, visibility: target.visibility };
        try {
          policy.enforce(ctx, 'add_image', policyTarget);
        } catch (err) {
          if (err instanceof Forbidden && target.owner !== ctx.projectId) {
            throw new Forbidden(
              `You are not permitted to create images owned by '${target.owner ?? 'None'}'`,
            );
          }
          throw err;
        }
        enforceVisibility(ctx, target.visibility, policyTarget);
      },
    });
    // Counted against the caller's project, whoever is to own the image (upstream's context.owner).
    await (deps.quotas ?? NO_QUOTAS).enforce(ctx.projectId, 'image_count_total', 1);
    const image = await images.create(changes.id ?? randomUUID(), changes);
    requestLocals(res).log.info({ imageId: image.id }, 'image created');
    res.setHeader('Location', absoluteUrl(req, `/v2/images/${image.id}`));
    if (deps.importMethods.length > 0)
      res.setHeader('OpenStack-image-import-methods', deps.importMethods.join(','));
    if (domain.enabledBackends.length > 0)
      res.setHeader('OpenStack-image-store-ids', domain.enabledBackends.join(','));
    sendJson(res, 201, formatImage(image, domain, ctx));
  };

  const show = async (req: Request, res: Response): Promise<void> => {
    const ctx = requestContext(res);
    const found = await access.find(ctx, param(req, 'imageId'));
    access.enforce(ctx, 'get_image', found);
    sendJson(res, 200, formatImage(found.image, domain, ctx));
  };

  const authorizePatch = (ctx: RequestContext, found: VisibleImage) => (check: PatchAuthorization) => {
    switch (check.action) {
      case 'update_property':
        if (check.name === 'visibility') enforceVisibility(ctx, check.value, access.target(found));
        access.enforceMutation(ctx, 'modify_image', found);
        return;
      case 'set_image_location':
        access.enforce(ctx, 'set_image_location', found);
        return;
      case 'delete_image_location':
        access.enforceMutation(ctx, 'delete_image_location', found);
        return;
    }
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
    const found = await access.find(ctx, param(req, 'imageId'));
    const changes = applyPatch(found.image, ops, ctx, {
      config: domain,
      authorize: authorizePatch(ctx, found),
    });
    let image = found.image;
    if (ops.length > 0) {
      const locations =
        changes.locations.length > 0
          ? await locationRules.apply(image, changes.locations, requestLocals(res).log)
          : undefined;
      const saved = await images.update(image.id, changes, locations);
      if (!saved) throw new NotFound(`No image found with ID ${image.id}`);
      image = saved;
    }
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
