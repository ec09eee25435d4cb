import type { Request, Response, Router } from 'express';
import { nowSeconds } from '../domain/clock.js';
import { objectValues, parseObjectBody } from '../domain/metadef-bodies.js';
import { checkObjectListQuery } from '../domain/metadef-query.js';
import { objectModel, OBJECT_SCHEMA_LINK } from '../domain/metadef-represent.js';
import { METADEF_OBJECT, METADEF_OBJECTS, toModel } from '../domain/metadef-wsme.js';
import { Forbidden, NotFound } from '../domain/errors.js';
import { requestContext } from '../http/locals.js';
import { param, route } from '../http/routing.js';
import { changed, checkFourByte, unlessDuplicate } from '../services/metadef-rules.js';
import { jsonBody } from '../http/json-body.js';
import { rawQuery } from '../http/request.js';
import { sendModel, sendDeleted } from '../http/respond.js';
import { type MetadefRouteDeps } from '../services/metadef-access.js';

const objectHref = (namespace: string, name: string): string =>
  `/v2/metadefs/namespaces/${namespace}/objects/${name}`;

/** /v2/metadefs/namespaces/{ns}/objects[/{name}] (upstream's metadef_objects.py). */
export function mountMetadefObjects(router: Router, deps: MetadefRouteDeps): void {
  const { access, schemas, events } = deps;
  const repo = access.repo;
  const notFound = (name: string): NotFound => new NotFound(`Could not find metadata object ${name}`);

  const list = async (req: Request, res: Response): Promise<void> => {
    checkObjectListQuery(rawQuery(req));
    const ctx = requestContext(res);
    const name = param(req, 'namespace');
    const ns = await access.find(ctx, name, 'objects');
    access.enforce(ctx, 'get_metadef_objects', ns);
    const objects = access.check(ctx, 'get_metadef_object', ns) ? await repo.objects(ns.id) : [];
    // Upstream's serializer writes this schema link without its leading slash.
    sendModel(res, 200, METADEF_OBJECTS, {
      objects: objects.map((o) => objectModel(o, name)),
      schema: 'v2/schemas/metadefs/objects',
    });
  };

  const create = async (req: Request, res: Response): Promise<void> => {
    const body = parseObjectBody(await jsonBody(req, deps.jsonLimit), schemas, true);
    const ctx = requestContext(res);
    const name = param(req, 'namespace');
    const ns = await access.find(ctx, name, 'objects');
    access.enforce(ctx, 'add_metadef_object', ns);
    const { row, columns } = objectValues(body);
    checkFourByte("Couldn't create metadata object", [columns, name]);
    const at = nowSeconds();
    await unlessDuplicate(
      () => repo.createObject(ns.id, row, at),
      (o) => `A metadata definition object with name=${o} already exists in namespace=${name}.`,
    );
    events.objectCreated(name, body, at);
    sendModel(
      res,
      201,
      METADEF_OBJECT,
      toModel(METADEF_OBJECT, {
        ...body,
        created_at: at,
        updated_at: at,
        self: objectHref(name, row.name),
        schema: OBJECT_SCHEMA_LINK,
      }),
    );
  };

  const show = async (req: Request, res: Response): Promise<void> => {
    const ctx = requestContext(res);
    const name = param(req, 'namespace');
    const ns = await access.find(ctx, name, 'objects');
    access.enforce(ctx, 'get_metadef_object', ns);
    const obj = await repo.object(ns.id, param(req, 'object'));
    if (obj === null) throw notFound(param(req, 'object'));
    sendModel(res, 200, METADEF_OBJECT, objectModel(obj, name));
  };

  const update = async (req: Request, res: Response): Promise<void> => {
    const body = parseObjectBody(await jsonBody(req, deps.jsonLimit), schemas, false);
    const ctx = requestContext(res);
    const name = param(req, 'namespace');
    const ns = await access.find(ctx, name, 'objects');
    access.enforce(ctx, 'modify_metadef_object', ns);
    const obj = await repo.object(ns.id, param(req, 'object'));
    if (obj === null) throw notFound(param(req, 'object'));
    const { row, columns } = objectValues(body);
    checkFourByte("Couldn't update metadata object", [columns, name]);
    const current = { ...obj, json_schema: JSON.parse(obj.json_schema) as unknown };
    if (changed(current, columns)) {
      await unlessDuplicate(
        () => repo.updateObject(obj.id, row, nowSeconds()),
        // Upstream names the object as it was: the failed flush reverts the name it had just set.
        () =>
          'Invalid update. It would result in a duplicate metadata definition object with the same ' +
          `name=${obj.name} in namespace=${name}.`,
      );
    }
    events.objectUpdated(ns.namespace, body, obj);
    // The answer is the request's object with the timestamps read before the update, as upstream's is.
    sendModel(
      res,
      200,
      METADEF_OBJECT,
      toModel(METADEF_OBJECT, {
        name: body.name,
        required: body.required,
        description: body.description,
        properties: body.properties,
        created_at: obj.created_at,
        updated_at: obj.updated_at,
        self: objectHref(name, row.name),
        schema: OBJECT_SCHEMA_LINK,
      }),
    );
  };

  const remove = async (req: Request, res: Response): Promise<void> => {
    const ctx = requestContext(res);
    const ns = await access.find(ctx, param(req, 'namespace'), 'objects');
    access.enforce(ctx, 'delete_metadef_object', ns);
    const obj = await repo.object(ns.id, param(req, 'object'));
    if (obj === null) throw notFound(param(req, 'object'));
    if (ns.protected) {
      throw new Forbidden(`Metadata definition object ${obj.name} is protected and cannot be deleted.`);
    }
    if (!(await repo.deleteObject(obj.id))) {
      throw new NotFound(`The specified metadata object ${obj.name} could not be found`);
    }
    events.objectDeleted(ns.namespace, obj);
    sendDeleted(res);
  };

  route(router, '/v2/metadefs/namespaces/:namespace/objects', 'GET, POST, DELETE', {
    GET: { handler: list },
    POST: { handler: create },
    DELETE: {
      handler: async (req, res) => {
        await deps.access.deleteContent(requestContext(res), param(req, 'namespace'), 'objects');
        sendDeleted(res);
      },
    },
  });
  route(router, '/v2/metadefs/namespaces/:namespace/objects/:object', 'GET, PUT, DELETE', {
    GET: { bodyReject: true, handler: show },
    PUT: { handler: update },
    DELETE: { bodyReject: true, handler: remove },
  });
}
