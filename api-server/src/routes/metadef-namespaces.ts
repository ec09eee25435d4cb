import type { Request, Response, Router } from 'express';
import type { RequestContext } from '../domain/request-context.js';
import { nowSeconds } from '../domain/clock.js';
import { objectValues, parseNamespaceBody } from '../domain/metadef-bodies.js';
import {
  namespacePageLinks,
  parseNamespaceListQuery,
  parseNamespaceShowQuery,
} from '../domain/metadef-query.js';
import {
  associationModel,
  namespaceHref,
  namespaceModel,
  objectModel,
  prefixProperties,
  propertiesModel,
} from '../domain/metadef-represent.js';
import type { NamespaceRecord, NamespaceValues } from '../domain/metadef-types.js';
import { NAMESPACE, NAMESPACES, PROPERTY_TYPE, toJson, type WsObject } from '../domain/metadef-wsme.js';
import { pythonJson } from '../domain/python-json.js';
import { Forbidden, GlanceError, Invalid, NotFound } from '../domain/errors.js';
import { requestContext, requestLocals } from '../http/locals.js';
import { param, route } from '../http/routing.js';
import { absoluteUrl, rawQuery } from '../http/request.js';
import { changed, checkFourByte, truthy, unlessDuplicate } from '../services/metadef-rules.js';
import { jsonBody } from '../http/json-body.js';
import { sendCreated, sendModel, sendDeleted } from '../http/respond.js';
import { protectedNamespace, type MetadefRouteDeps } from '../services/metadef-access.js';

/** The namespace columns a create or update writes (the domain factory's and update's defaults applied). */
function namespaceValues(body: WsObject, ctx: RequestContext): NamespaceValues {
  return {
    namespace: body.namespace as string,
    display_name: (body.display_name as string | undefined) ?? null,
    description: (body.description as string | undefined) ?? null,
    visibility: (body.visibility as string | undefined) || 'private',
    protected: (body.protected as boolean | undefined) || false,
    owner: (body.owner as string | undefined) || (ctx.projectId as string),
  };
}

/** /v2/metadefs/namespaces and /v2/metadefs/namespaces/{ns} (upstream's metadef_namespaces.py). */
export function mountMetadefNamespaces(router: Router, deps: MetadefRouteDeps): void {
  const { access, schemas, events } = deps;
  const repo = access.repo;

  const list = async (req: Request, res: Response): Promise<void> => {
    const query = parseNamespaceListQuery(rawQuery(req), deps.limits);
    const ctx = requestContext(res);
    access.enforce(ctx, 'get_metadef_namespaces');
    access.enforce(ctx, 'list_metadef_resource_types');
    let marker: NamespaceRecord | null = null;
    if (query.marker) {
      const found = await access.lookup(ctx, query.marker);
      if (found === null) throw new NotFound(`Metadata definition namespace=${query.marker} was not found.`);
      if (found === 'invisible') {
        throw new Forbidden(
          `Forbidding request, metadata definition namespace=${query.marker} is not visible.`,
        );
      }
      marker = found;
    }
    const page = await repo.listNamespaces(ctx, query, marker);
    const shown = page.filter((ns) => access.check(ctx, 'get_metadef_namespace', ns));
    const models: WsObject[] = [];
    for (const ns of shown) {
      const model = namespaceModel(ns);
      const associations = await repo.associations(ns.id);
      if (associations.length > 0) model.resource_type_associations = associations.map(associationModel);
      models.push(model);
    }
    const last = shown[shown.length - 1];
    const links = namespacePageLinks(
      rawQuery(req),
      last !== undefined && shown.length === query.limit ? last.namespace : null,
    );
    sendModel(res, 200, NAMESPACES, {
      namespaces: models,
      ...(links.next !== undefined && { next: links.next }),
      schema: '/v2/schemas/metadefs/namespaces',
      first: links.first,
    });
  };

  const create = async (req: Request, res: Response): Promise<void> => {
    const body = parseNamespaceBody(await jsonBody(req, deps.jsonLimit), schemas);
    const ctx = requestContext(res);
    access.enforce(ctx, 'add_metadef_namespace');
    if (truthy(body.resource_type_associations)) access.enforce(ctx, 'add_metadef_resource_type_association');
    if (truthy(body.objects)) access.enforce(ctx, 'add_metadef_object');
    if (truthy(body.properties)) access.enforce(ctx, 'add_metadef_property');
    if (truthy(body.tags)) access.enforce(ctx, 'add_metadef_tag');

    const values = namespaceValues(body, ctx);
    const invalid = "Couldn't create metadata namespace";
    checkFourByte(invalid, [values as unknown as Record<string, unknown>]);
    const at = nowSeconds();
    const ns = await unlessDuplicate(
      () => repo.createNamespace(values, at),
      (name) => `The metadata definition namespace=${name} already exists.`,
    );
    const name = values.namespace;
    events.namespaceCreated(ns);
    try {
      for (const assoc of (body.resource_type_associations ?? []) as WsObject[]) {
        const associated = await unlessDuplicate(
          () =>
            repo.associate(
              ns.id,
              {
                name: assoc.name as string,
                prefix: (assoc.prefix as string | undefined) ?? null,
                properties_target: (assoc.properties_target as string | undefined) ?? null,
              },
              at,
            ),
          (rt) =>
            `The metadata definition resource-type association of resource-type=${rt} to namespace=${name} ` +
            'already exists.',
        );
        events.resourceTypeAssociated(name, associated);
      }
      for (const obj of (body.objects ?? []) as WsObject[]) {
        const { row, columns } = objectValues(obj);
        checkFourByte(invalid, [columns, name]);
        await unlessDuplicate(
          () => repo.createObject(ns.id, row, at),
          (o) => `A metadata definition object with name=${o} already exists in namespace=${name}.`,
        );
        events.objectCreated(name, obj, at);
      }
      for (const tag of (body.tags ?? []) as WsObject[]) {
        const tagName = tag.name as string;
        checkFourByte(invalid, [{ name: tagName }, name]);
        const tagRow = await unlessDuplicate(
          () => repo.createTag(ns.id, tagName, at),
          (t) =>
            `A metadata tag with name=${t} already exists in namespace=${name}. (Please note that metadata tag ` +
            'names are case insensitive).',
        );
        events.tagsCreated(name, [tagRow]);
      }
      for (const [propName, prop] of Object.entries((body.properties ?? {}) as WsObject)) {
        const schema = toJson(PROPERTY_TYPE, prop);
        checkFourByte(invalid, [{ name: propName, json_schema: schema }, name]);
        await unlessDuplicate(
          () => repo.createProperty(ns.id, propName, pythonJson(schema), at),
          (p) => `A metadata definition property with name=${p} already exists in namespace=${name}.`,
        );
        events.propertyCreated(name, propName, schema);
      }
    } catch (err) {
      // Upstream removes the half-made namespace on a conflict, but keeps it when the input was invalid.
      if (err instanceof GlanceError && !(err instanceof Invalid) && (await repo.deleteNamespace(ns.id))) {
        events.namespaceDeleted(ns);
      }
      throw err;
    }
    requestLocals(res).log.info({ namespace: name }, 'metadef namespace created');
    sendCreated(res, absoluteUrl(req, namespaceHref(name)), NAMESPACE, {
      ...namespaceModel(ns),
      ...Object.fromEntries(
        ['resource_type_associations', 'properties', 'objects', 'tags']
          .filter((key) => body[key] !== undefined && body[key] !== null)
          .map((key) => [key, body[key]!]),
      ),
    });
  };

  const show = async (req: Request, res: Response): Promise<void> => {
    const { resourceType } = parseNamespaceShowQuery(rawQuery(req));
    const ctx = requestContext(res);
    const name = param(req, 'namespace');
    const found = await access.lookup(ctx, name);
    if (found === null) throw new NotFound(`Metadata definition namespace=${name} was not found.`);
    if (found === 'invisible') throw new NotFound();
    const ns = found;
    access.enforce(ctx, 'get_metadef_namespace', ns);
    access.enforce(ctx, 'list_metadef_resource_types', ns);
    access.enforce(ctx, 'get_metadef_objects', ns);
    access.enforce(ctx, 'get_metadef_properties', ns);
    access.enforce(ctx, 'get_metadef_tags', ns);

    const detail = namespaceModel(ns);
    const objects = await repo.objects(ns.id);
    if (objects.length > 0) detail.objects = objects.map((o) => objectModel(o, name));
    const associations = await repo.associations(ns.id);
    if (associations.length > 0) detail.resource_type_associations = associations.map(associationModel);
    const properties = propertiesModel(await repo.properties(ns.id));
    if (Object.keys(properties).length > 0) detail.properties = properties;
    if (resourceType !== null) prefixProperties(detail, resourceType);
    const tags = await repo.tags(
      ns.id,
      { limit: null, marker: null, sortKeys: ['created_at', 'id'], sortDir: 'desc' },
      null,
    );
    if (tags.length > 0) detail.tags = tags.map((t) => ({ name: t.name }));
    sendModel(res, 200, NAMESPACE, detail);
  };

  const update = async (req: Request, res: Response): Promise<void> => {
    const body = parseNamespaceBody(await jsonBody(req, deps.jsonLimit), schemas);
    const ctx = requestContext(res);
    const ns = await access.find(ctx, param(req, 'namespace'));
    access.enforce(ctx, 'modify_metadef_namespace', ns);
    const values = namespaceValues(body, ctx);
    checkFourByte("Couldn't update metadata namespace", [values as unknown as Record<string, unknown>]);
    if (changed(ns as unknown as Record<string, unknown>, values as unknown as Record<string, unknown>)) {
      await unlessDuplicate(
        () => repo.updateNamespace(ns.id, values, nowSeconds()),
        (n) =>
          'Invalid update. It would result in a duplicate metadata definition namespace with the same name of ' +
          n,
      );
    }
    // upstream saves (and notifies) whether or not anything changed.
    events.namespaceUpdated({ ...ns, ...values }, ns.namespace);
    // The answer keeps the timestamps read before the update, as upstream's does.
    sendModel(res, 200, NAMESPACE, namespaceModel({ ...ns, ...values }));
  };

  const remove = async (req: Request, res: Response): Promise<void> => {
    const ctx = requestContext(res);
    const ns = await access.find(ctx, param(req, 'namespace'));
    access.enforce(ctx, 'delete_metadef_namespace', ns);
    if (ns.protected) throw protectedNamespace(ns);
    if (!(await repo.deleteNamespace(ns.id))) {
      throw new NotFound(`The specified namespace ${ns.namespace} could not be found`);
    }
    events.namespaceDeleted(ns);
    requestLocals(res).log.info({ namespace: ns.namespace }, 'metadef namespace deleted');
    sendDeleted(res);
  };

  route(router, '/v2/metadefs/namespaces', 'GET, POST', {
    GET: { handler: list },
    POST: { handler: create },
  });
  route(router, '/v2/metadefs/namespaces/:namespace', 'GET, PUT, DELETE', {
    GET: { bodyReject: true, handler: show },
    PUT: { handler: update },
    DELETE: { bodyReject: true, handler: remove },
  });
}
