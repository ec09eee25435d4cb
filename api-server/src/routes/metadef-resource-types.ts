import type { Request, Response, Router } from 'express';
import { nowSeconds } from '../domain/clock.js';
import { parseAssociationBody } from '../domain/metadef-bodies.js';
import { associationModel, resourceTypeModel } from '../domain/metadef-represent.js';
import {
  RESOURCE_TYPE_ASSOCIATION,
  RESOURCE_TYPE_ASSOCIATIONS,
  RESOURCE_TYPES,
} from '../domain/metadef-wsme.js';
import { Forbidden, NotFound } from '../domain/errors.js';
import { requestContext } from '../http/locals.js';
import { param, route } from '../http/routing.js';
import { jsonBody } from '../http/json-body.js';
import { sendDeleted, sendModel } from '../http/respond.js';
import { unlessDuplicate } from '../services/metadef-rules.js';
import { type MetadefRouteDeps } from '../services/metadef-access.js';

/** /v2/metadefs/resource_types and a namespace's associations (upstream's metadef_resource_types.py). */
export function mountMetadefResourceTypes(router: Router, deps: MetadefRouteDeps): void {
  const { access, schemas, events } = deps;
  const repo = access.repo;

  const list = async (_req: Request, res: Response): Promise<void> => {
    const ctx = requestContext(res);
    access.enforce(ctx, 'list_metadef_resource_types');
    const types = await repo.resourceTypes();
    sendModel(res, 200, RESOURCE_TYPES, { resource_types: types.map(resourceTypeModel) });
  };

  const associations = async (req: Request, res: Response): Promise<void> => {
    const ctx = requestContext(res);
    const ns = await access.find(ctx, param(req, 'namespace'));
    access.enforce(ctx, 'list_metadef_resource_types', ns);
    const shown = access.check(ctx, 'get_metadef_resource_type', ns) ? await repo.associations(ns.id) : [];
    sendModel(res, 200, RESOURCE_TYPE_ASSOCIATIONS, {
      resource_type_associations: shown.map(associationModel),
    });
  };

  const associate = async (req: Request, res: Response): Promise<void> => {
    const body = parseAssociationBody(await jsonBody(req, deps.jsonLimit), schemas);
    const ctx = requestContext(res);
    const name = param(req, 'namespace');
    const ns = await access.find(ctx, name);
    access.enforce(ctx, 'add_metadef_resource_type_association', ns);
    const assoc = await unlessDuplicate(
      () =>
        repo.associate(
          ns.id,
          {
            name: body.name as string,
            prefix: (body.prefix as string | undefined) ?? null,
            properties_target: (body.properties_target as string | undefined) ?? null,
          },
          nowSeconds(),
        ),
      (rt) =>
        `The metadata definition resource-type association of resource-type=${rt} to namespace=${name} ` +
        'already exists.',
    );
    events.resourceTypeAssociated(name, assoc);
    sendModel(res, 201, RESOURCE_TYPE_ASSOCIATION, associationModel(assoc));
  };

  const dissociate = async (req: Request, res: Response): Promise<void> => {
    const ctx = requestContext(res);
    const ns = await access.find(ctx, param(req, 'namespace'));
    access.enforce(ctx, 'remove_metadef_resource_type_association', ns);
    const name = param(req, 'resourceType');
    const notFound = new NotFound(`Failed to find resource type ${name} to delete`);
    // Upstream compares names in Python, so unlike the lookups elsewhere this one is exact.
    const assoc = (await repo.associations(ns.id)).find((a) => a.name === name);
    if (assoc === undefined) throw notFound;
    if (ns.protected) {
      throw new Forbidden(
        `Metadata definition resource-type-association ${assoc.name} is protected and cannot be deleted.`,
      );
    }
    if (!(await repo.dissociate(ns.id, assoc.resource_type_id))) throw notFound;
    events.resourceTypeDissociated(ns.namespace, assoc);
    sendDeleted(res);
  };

  route(router, '/v2/metadefs/resource_types', 'GET', { GET: { bodyReject: true, handler: list } });
  route(router, '/v2/metadefs/namespaces/:namespace/resource_types', 'GET, POST', {
    GET: { bodyReject: true, handler: associations },
    POST: { handler: associate },
  });
  route(router, '/v2/metadefs/namespaces/:namespace/resource_types/:resourceType', 'DELETE', {
    DELETE: { bodyReject: true, handler: dissociate },
  });
}
