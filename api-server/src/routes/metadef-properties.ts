import type { Request, Response, Router } from 'express';
import { nowSeconds } from '../domain/clock.js';
import { parsePropertyBody } from '../domain/metadef-bodies.js';
import { parsePropertyShowQuery } from '../domain/metadef-query.js';
import { propertiesModel, propertyModel } from '../domain/metadef-represent.js';
import { PROPERTY_TYPE, PROPERTY_TYPES, toJson, type WsObject } from '../domain/metadef-wsme.js';
import type { JsonValue } from '../domain/pyrepr.js';
import { pythonJson } from '../domain/python-json.js';
import { Forbidden, NotFound } from '../domain/errors.js';
import { requestContext } from '../http/locals.js';
import { param, route } from '../http/routing.js';
import { changed, checkFourByte, unlessDuplicate } from '../services/metadef-rules.js';
import { jsonBody } from '../http/json-body.js';
import { rawQuery } from '../http/request.js';
import { sendModel, sendDeleted } from '../http/respond.js';
import { type MetadefRouteDeps } from '../services/metadef-access.js';

/** The property as the database stores it: its PropertyType serialised, name included. */
function storedSchema(body: WsObject): JsonValue {
  return toJson(PROPERTY_TYPE, body);
}

/** /v2/metadefs/namespaces/{ns}/properties[/{name}] (upstream's metadef_properties.py). */
export function mountMetadefProperties(router: Router, deps: MetadefRouteDeps): void {
  const { access, schemas, events } = deps;
  const repo = access.repo;
  const notFound = (name: string): NotFound => new NotFound(`Could not find property ${name}`);

  const list = async (req: Request, res: Response): Promise<void> => {
    const ctx = requestContext(res);
    const ns = await access.find(ctx, param(req, 'namespace'));
    access.enforce(ctx, 'get_metadef_properties', ns);
    sendModel(res, 200, PROPERTY_TYPES, { properties: propertiesModel(await repo.properties(ns.id)) });
  };

  const create = async (req: Request, res: Response): Promise<void> => {
    const body = parsePropertyBody(await jsonBody(req, deps.jsonLimit), schemas);
    const ctx = requestContext(res);
    const name = param(req, 'namespace');
    const ns = await access.find(ctx, name);
    access.enforce(ctx, 'add_metadef_property', ns);
    const propertyName = body.name as string;
    const schema = storedSchema(body);
    checkFourByte("Couldn't create metadata property", [{ name: propertyName, json_schema: schema }, name]);
    const created = await unlessDuplicate(
      () => repo.createProperty(ns.id, propertyName, pythonJson(schema), nowSeconds()),
      (p) => `A metadata definition property with name=${p} already exists in namespace=${name}.`,
    );
    events.propertyCreated(name, propertyName, schema);
    sendModel(res, 201, PROPERTY_TYPE, propertyModel(created));
  };

  const show = async (req: Request, res: Response): Promise<void> => {
    const { resourceType } = parsePropertyShowQuery(rawQuery(req));
    const ctx = requestContext(res);
    const name = param(req, 'namespace');
    const ns = await access.find(ctx, name);
    access.enforce(ctx, 'get_metadef_property', ns);
    let propertyName = param(req, 'property');
    if (resourceType !== null) {
      access.enforce(ctx, 'get_metadef_resource_type', ns);
      const assoc = await repo.association(ns.id, resourceType);
      if (assoc === 'no-resource-type') {
        throw new NotFound(`The metadata definition resource-type with name=${resourceType}, was not found.`);
      }
      if (assoc === 'not-associated') {
        throw new NotFound(
          `The metadata definition resource-type association of resource-type=${resourceType} to ` +
            `namespace=${name}, was not found.`,
        );
      }
      if (!assoc.prefix || !propertyName.startsWith(assoc.prefix)) {
        throw new NotFound(
          `Property ${propertyName} does not start with the expected resource type association prefix of ` +
            `'${assoc.prefix ?? 'None'}'.`,
        );
      }
      propertyName = propertyName.slice(assoc.prefix.length);
    }
    const property = await repo.property(ns.id, propertyName);
    if (property === null) throw notFound(propertyName);
    sendModel(res, 200, PROPERTY_TYPE, propertyModel(property));
  };

  const update = async (req: Request, res: Response): Promise<void> => {
    const body = parsePropertyBody(await jsonBody(req, deps.jsonLimit), schemas);
    const ctx = requestContext(res);
    const name = param(req, 'namespace');
    const ns = await access.find(ctx, name);
    access.enforce(ctx, 'modify_metadef_property', ns);
    const property = await repo.property(ns.id, param(req, 'property'));
    if (property === null) throw notFound(param(req, 'property'));
    const next = { name: body.name as string, json_schema: storedSchema(body) };
    checkFourByte("Couldn't update metadata property", [next, name]);
    const current = { name: property.name, json_schema: JSON.parse(property.json_schema) as unknown };
    let saved = property;
    if (changed(current, next)) {
      const at = nowSeconds();
      await unlessDuplicate(
        () => repo.updateProperty(property.id, next.name, pythonJson(next.json_schema), at),
        // Upstream names the property as it was: the failed flush reverts the name it had just set.
        () =>
          'Invalid update. It would result in a duplicate metadata definition property with the same ' +
          `name=${property.name} in namespace=${name}.`,
      );
      saved = { ...property, name: next.name, json_schema: pythonJson(next.json_schema), updated_at: at };
    }
    events.propertyUpdated(ns.namespace, next.name, next.json_schema, property.name);
    sendModel(res, 200, PROPERTY_TYPE, propertyModel(saved));
  };

  const remove = async (req: Request, res: Response): Promise<void> => {
    const ctx = requestContext(res);
    const ns = await access.find(ctx, param(req, 'namespace'));
    access.enforce(ctx, 'remove_metadef_property', ns);
    const property = await repo.property(ns.id, param(req, 'property'));
    if (property === null) throw notFound(param(req, 'property'));
    if (ns.protected) {
      throw new Forbidden(
        `Metadata definition property ${property.name} is protected and cannot be deleted.`,
      );
    }
    if (!(await repo.deleteProperty(property.id))) {
      throw new NotFound(`The specified property ${property.name} could not be found`);
    }
    events.propertyDeleted(ns.namespace, property);
    sendDeleted(res);
  };

  route(router, '/v2/metadefs/namespaces/:namespace/properties', 'GET, POST, DELETE', {
    GET: { bodyReject: true, handler: list },
    POST: { handler: create },
    DELETE: {
      handler: async (req, res) => {
        await deps.access.deleteContent(requestContext(res), param(req, 'namespace'), 'properties');
        sendDeleted(res);
      },
    },
  });
  route(router, '/v2/metadefs/namespaces/:namespace/properties/:property', 'GET, PUT, DELETE', {
    GET: { handler: show },
    PUT: { handler: update },
    DELETE: { handler: remove },
  });
}
