import type { Request, Response, Router } from 'express';
import { nowSeconds } from '../domain/clock.js';
import { parseTagBody, parseTagsBody, validateBody } from '../domain/metadef-bodies.js';
import { parseTagListQuery } from '../domain/metadef-query.js';
import { tagModel } from '../domain/metadef-represent.js';
import type { TagRecord } from '../domain/metadef-types.js';
import { METADEF_TAG, METADEF_TAGS } from '../domain/metadef-wsme.js';
import { Forbidden, NotFound } from '../domain/errors.js';
import { requestContext } from '../http/locals.js';
import { param, route } from '../http/routing.js';
import { checkFourByte, unlessDuplicate } from '../services/metadef-rules.js';
import { jsonBody } from '../http/json-body.js';
import { rawQuery } from '../http/request.js';
import { sendModel, sendDeleted } from '../http/respond.js';
import { type MetadefRouteDeps } from '../services/metadef-access.js';

// oslo_utils.strutils.bool_from_string's true words.
const TRUE_STRINGS = new Set(['1', 't', 'true', 'on', 'y', 'yes']);

function duplicateTag(name: string, namespace: string): string {
  return (
    `A metadata tag with name=${name} already exists in namespace=${namespace}. (Please note that metadata tag ` +
    'names are case insensitive).'
  );
}

/** /v2/metadefs/namespaces/{ns}/tags[/{name}] (upstream's metadef_tags.py). */
export function mountMetadefTags(router: Router, deps: MetadefRouteDeps): void {
  const { access, schemas, events } = deps;
  const repo = access.repo;
  const notFound = (name: string): NotFound => new NotFound(`Could not find metadata tag ${name}`);

  const list = async (req: Request, res: Response): Promise<void> => {
    const query = parseTagListQuery(rawQuery(req));
    const ctx = requestContext(res);
    const ns = await access.find(ctx, param(req, 'namespace'));
    access.enforce(ctx, 'get_metadef_tags', ns);
    let marker: TagRecord | null = null;
    if (query.marker !== null) {
      marker = await repo.tag(ns.id, query.marker);
      if (marker === null) throw notFound(query.marker);
    }
    const tags = await repo.tags(ns.id, query, marker);
    sendModel(res, 200, METADEF_TAGS, { tags: tags.map((t) => ({ name: t.name })) });
  };

  const createMany = async (req: Request, res: Response): Promise<void> => {
    const names = parseTagsBody(await jsonBody(req, deps.jsonLimit), schemas);
    const ctx = requestContext(res);
    const name = param(req, 'namespace');
    const ns = await access.find(ctx, name);
    access.enforce(ctx, 'add_metadef_tags', ns);
    const append = TRUE_STRINGS.has((req.get('X-Openstack-Append') ?? '').trim().toLowerCase());
    if (names.length > 0) {
      const at = nowSeconds();
      await unlessDuplicate(
        () => repo.createTags(ns.id, names, append, at),
        (t) => duplicateTag(t, name),
      );
      events.tagsCreated(
        name,
        names.map((tag) => ({ name: tag, created_at: at, updated_at: at })),
      );
    }
    sendModel(res, 201, METADEF_TAGS, { tags: names.map((t) => ({ name: t })) });
  };

  const show = async (req: Request, res: Response): Promise<void> => {
    const ctx = requestContext(res);
    const ns = await access.find(ctx, param(req, 'namespace'));
    access.enforce(ctx, 'get_metadef_tag', ns);
    const tag = await repo.tag(ns.id, param(req, 'tag'));
    if (tag === null) throw notFound(param(req, 'tag'));
    sendModel(res, 200, METADEF_TAG, tagModel(tag));
  };

  const create = async (req: Request, res: Response): Promise<void> => {
    const ctx = requestContext(res);
    const name = param(req, 'namespace');
    const ns = await access.find(ctx, name);
    const tagName = param(req, 'tag');
    validateBody({ name: tagName }, schemas.tag);
    access.enforce(ctx, 'add_metadef_tag', ns);
    checkFourByte("Couldn't create metadata tag", [{ name: tagName }, name]);
    const tag = await unlessDuplicate(
      () => repo.createTag(ns.id, tagName, nowSeconds()),
      (t) => duplicateTag(t, name),
    );
    events.tagsCreated(name, [tag]);
    sendModel(res, 201, METADEF_TAG, tagModel(tag));
  };

  const update = async (req: Request, res: Response): Promise<void> => {
    const body = parseTagBody(await jsonBody(req, deps.jsonLimit), schemas);
    const ctx = requestContext(res);
    const name = param(req, 'namespace');
    const ns = await access.find(ctx, name);
    access.enforce(ctx, 'modify_metadef_tag', ns);
    const tag = await repo.tag(ns.id, param(req, 'tag'));
    if (tag === null) throw notFound(param(req, 'tag'));
    const newName = body.name as string;
    checkFourByte("Couldn't update metadata tag", [{ name: newName }, name]);
    if (newName !== tag.name) {
      await unlessDuplicate(
        () => repo.updateTag(tag.id, newName, nowSeconds()),
        (t) => duplicateTag(t, name),
      );
    }
    events.tagUpdated(ns.namespace, newName, tag);
    // The answer keeps the timestamps read before the update, as upstream's does.
    sendModel(res, 200, METADEF_TAG, tagModel({ ...tag, name: newName }));
  };

  const remove = async (req: Request, res: Response): Promise<void> => {
    const ctx = requestContext(res);
    const ns = await access.find(ctx, param(req, 'namespace'));
    access.enforce(ctx, 'delete_metadef_tag', ns);
    const tag = await repo.tag(ns.id, param(req, 'tag'));
    if (tag === null) throw notFound(param(req, 'tag'));
    if (ns.protected) {
      throw new Forbidden(`Metadata definition tag ${tag.name} is protected and cannot be deleted.`);
    }
    if (!(await repo.deleteTag(tag.id))) {
      throw new NotFound(`The specified metadata tag ${tag.name} could not be found`);
    }
    events.tagDeleted(ns.namespace, tag);
    sendDeleted(res);
  };

  route(router, '/v2/metadefs/namespaces/:namespace/tags', 'GET, POST, DELETE', {
    GET: { handler: list },
    POST: { handler: createMany },
    DELETE: {
      handler: async (req, res) => {
        await deps.access.deleteContent(requestContext(res), param(req, 'namespace'), 'tags');
        sendDeleted(res);
      },
    },
  });
  route(router, '/v2/metadefs/namespaces/:namespace/tags/:tag', 'GET, POST, PUT, DELETE', {
    GET: { bodyReject: true, handler: show },
    POST: { bodyReject: true, handler: create },
    PUT: { handler: update },
    DELETE: { bodyReject: true, handler: remove },
  });
}
