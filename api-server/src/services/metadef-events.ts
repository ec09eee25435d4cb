import { objectModel } from '../domain/metadef-represent.js';
import type {
  AssociationRecord,
  NamespaceRecord,
  ObjectRecord,
  PropertyRecord,
  TagRecord,
} from '../domain/metadef-types.js';
import type { WsObject } from '../domain/metadef-wsme.js';
import type { JsonValue } from '../domain/pyrepr.js';
import {
  namespaceDeletePayload,
  namespacePayload,
  noopNotifier,
  objectDeletePayload,
  objectPayload,
  propertyDeletePayload,
  propertyPayload,
  resourceTypeDeletePayload,
  resourceTypePayload,
  tagDeletePayload,
  tagPayload,
  type NamespaceNotice,
  type Notifier,
  type ObjectNotice,
  type PropertySchema,
  type PyJson,
} from '../notify/index.js';

/** The kinds of a namespace's contents that DELETE /v2/metadefs/namespaces/{ns}/<kind> removes at once. */
export type NamespaceContent = 'objects' | 'properties' | 'tags';

/** The times upstream's in-memory object carries: the row's, or the moment a new one was made. */
interface Times {
  created_at: Date;
  updated_at: Date | null;
}

function namespaceNotice(ns: NamespaceRecord): NamespaceNotice {
  return {
    namespace: ns.namespace,
    display_name: ns.display_name,
    protected: ns.protected,
    visibility: ns.visibility,
    owner: ns.owner,
    description: ns.description,
    created_at: ns.created_at,
    updated_at: ns.updated_at,
  };
}

/**
 * An object as a request body makes it (new_object(**to_dict()), or the PUT's values on the stored object):
 * attributes the body left out are None, its properties WSME PropertyTypes.
 */
function requestedObject(namespace: string, body: WsObject, times: Times): ObjectNotice {
  return {
    namespace,
    name: body.name as string,
    description: (body.description as string | null | undefined) ?? null,
    required: (body.required as string[] | null | undefined) ?? null,
    properties: (body.properties as Record<string, PropertySchema> | null | undefined) ?? null,
    created_at: times.created_at,
    updated_at: times.updated_at,
  };
}

/** An object as the repository reads it: required as a list (empty when none), properties converted. */
function storedObject(namespace: string, obj: ObjectRecord): ObjectNotice {
  const model = objectModel(obj, namespace);
  return {
    namespace,
    name: obj.name,
    description: obj.description,
    required: (model.required as string[] | undefined) ?? [],
    properties: (model.properties as Record<string, PropertySchema> | undefined) ?? {},
    created_at: obj.created_at,
    updated_at: obj.updated_at,
  };
}

/**
 * The metadef_* notifications, sent where upstream's metadef repository proxies send them (glance/notifier.py):
 * after each add, save and remove, with the names before a rename in *_old. Namespace content is created with
 * one event per item; deleting a namespace sends only metadef_namespace.delete, and deleting all of one kind of
 * its content sends metadef_namespace.delete_<kind> with the namespace. Sending never waits or fails a request.
 */
export class MetadefEvents {
  constructor(private readonly notifier: Notifier = noopNotifier) {}

  namespaceCreated(ns: NamespaceRecord): void {
    this.send('metadef_namespace.create', () => namespacePayload(namespaceNotice(ns)));
  }

  /** `ns` as the PUT left it, `oldName` its name before. */
  namespaceUpdated(ns: NamespaceRecord, oldName: string): void {
    this.send('metadef_namespace.update', () => namespacePayload(namespaceNotice(ns), oldName));
  }

  namespaceDeleted(ns: NamespaceRecord): void {
    this.send('metadef_namespace.delete', () => namespaceDeletePayload(namespaceNotice(ns)));
  }

  namespaceContentDeleted(ns: NamespaceRecord, kind: NamespaceContent): void {
    this.send(`metadef_namespace.delete_${kind}`, () => namespacePayload(namespaceNotice(ns)));
  }

  /** A new object from its request body. */
  objectCreated(namespace: string, body: WsObject, at: Date): void {
    this.send('metadef_object.create', () =>
      objectPayload(requestedObject(namespace, body, { created_at: at, updated_at: at })),
    );
  }

  /** The stored object `before`, changed to the PUT's `body`. */
  objectUpdated(namespace: string, body: WsObject, before: ObjectRecord): void {
    this.send('metadef_object.update', () =>
      objectPayload(requestedObject(namespace, body, before), before.name),
    );
  }

  objectDeleted(namespace: string, obj: ObjectRecord): void {
    this.send('metadef_object.delete', () => objectDeletePayload(storedObject(namespace, obj)));
  }

  /** `schema` is the property as stored (its PropertyType as JSON). */
  propertyCreated(namespace: string, name: string, schema: JsonValue): void {
    this.send('metadef_property.create', () =>
      propertyPayload({ namespace, name, schema: schema as PropertySchema }),
    );
  }

  propertyUpdated(namespace: string, name: string, schema: JsonValue, oldName: string): void {
    this.send('metadef_property.update', () =>
      propertyPayload({ namespace, name, schema: schema as PropertySchema }, oldName),
    );
  }

  propertyDeleted(namespace: string, property: PropertyRecord): void {
    this.send('metadef_property.delete', () =>
      propertyDeletePayload({
        namespace,
        name: property.name,
        schema: JSON.parse(property.json_schema) as PropertySchema,
      }),
    );
  }

  resourceTypeAssociated(namespace: string, assoc: AssociationRecord): void {
    this.send('metadef_resource_type.create', () => resourceTypePayload({ namespace, ...assoc }));
  }

  resourceTypeDissociated(namespace: string, assoc: AssociationRecord): void {
    this.send('metadef_resource_type.delete', () => resourceTypeDeletePayload({ namespace, ...assoc }));
  }

  /** One metadef_tag.create per tag, as for POST tags in bulk (add_tags). */
  tagsCreated(namespace: string, tags: ReadonlyArray<Pick<TagRecord, 'name'> & Times>): void {
    for (const tag of tags) this.send('metadef_tag.create', () => tagPayload({ namespace, ...tag }));
  }

  /** The stored tag `before`, renamed to `name`. */
  tagUpdated(namespace: string, name: string, before: TagRecord): void {
    this.send('metadef_tag.update', () => tagPayload({ namespace, ...before, name }, before.name));
  }

  tagDeleted(namespace: string, tag: TagRecord): void {
    this.send('metadef_tag.delete', () => tagDeletePayload({ namespace, ...tag }));
  }

  private send(eventType: string, payload: () => PyJson): void {
    this.notifier.notify(eventType, payload);
  }
}
