import type {
  AssociationRecord,
  NamespaceRecord,
  ObjectRecord,
  PropertyRecord,
  ResourceTypeRecord,
  TagRecord,
} from './metadef-types.js';
import {
  METADEF_OBJECT,
  METADEF_TAG,
  NAMESPACE,
  PROPERTY_TYPE,
  RESOURCE_TYPE,
  RESOURCE_TYPE_ASSOCIATION,
  fromJson,
  toModel,
  type WsObject,
  type WsValue,
} from './metadef-wsme.js';
import { Invalid } from './errors.js';
import type { JsonValue } from './pyrepr.js';
import { emptyRecord } from './records.js';

// Metadef rows as upstream's controllers turn them into WSME models (to_wsme_model and friends); the routes
// serialise these with toJson().

export const NAMESPACE_SCHEMA_LINK = '/v2/schemas/metadefs/namespace';
export const OBJECT_SCHEMA_LINK = '/v2/schemas/metadefs/object';

export function namespaceHref(name: string): string {
  return `/v2/metadefs/namespaces/${name}`;
}

/** A stored property schema as a PropertyType; a row WSME cannot read is upstream's 500 too. */
function storedPropertyType(json: JsonValue): WsObject {
  try {
    return fromJson(PROPERTY_TYPE, json, 'property_type');
  } catch (err) {
    if (err instanceof Invalid) throw new Error(`stored metadef property does not convert: ${err.message}`);
    throw err;
  }
}

/** Namespace.to_wsme_model(namespace, href, schema link): the namespace's own columns. */
export function namespaceModel(ns: NamespaceRecord): WsObject {
  return toModel(NAMESPACE, {
    ...ns,
    self: namespaceHref(ns.namespace),
    schema: NAMESPACE_SCHEMA_LINK,
  });
}

/** Namespace.to_model_properties: name → PropertyType, as stored (a `name` kept in the schema included). */
export function propertiesModel(properties: PropertyRecord[]): WsObject {
  const out = emptyRecord<WsValue>();
  for (const p of properties) out[p.name] = storedPropertyType(JSON.parse(p.json_schema) as JsonValue);
  return out;
}

/** NamespacePropertiesController._to_model: the stored schema with the row's name. */
export function propertyModel(property: PropertyRecord): WsObject {
  return { ...storedPropertyType(JSON.parse(property.json_schema) as JsonValue), name: property.name };
}

/** The object as upstream's repository reads it; `namespaceName` is the name the request used. */
export function objectModel(obj: ObjectRecord, namespaceName: string): WsObject {
  const stored = JSON.parse(obj.json_schema) as Record<string, JsonValue>;
  const properties = emptyRecord<WsValue>();
  for (const [name, schema] of Object.entries(stored)) properties[name] = storedPropertyType(schema);
  return toModel(METADEF_OBJECT, {
    name: obj.name,
    required: obj.required ? obj.required.split(',') : [],
    description: obj.description,
    properties,
    created_at: obj.created_at,
    updated_at: obj.updated_at,
    self: `/v2/metadefs/namespaces/${namespaceName}/objects/${obj.name}`,
    schema: OBJECT_SCHEMA_LINK,
  });
}

export function tagModel(tag: Pick<TagRecord, 'name' | 'created_at' | 'updated_at'>): WsObject {
  return toModel(METADEF_TAG, { ...tag });
}

export function associationModel(assoc: Omit<AssociationRecord, 'resource_type_id'>): WsObject {
  return toModel(RESOURCE_TYPE_ASSOCIATION, { ...assoc });
}

export function resourceTypeModel(type: ResourceTypeRecord): WsObject {
  return toModel(RESOURCE_TYPE, {
    name: type.name,
    created_at: type.created_at,
    updated_at: type.updated_at,
  });
}

/**
 * NamespaceController._prefix_property_name: with the prefix of the namespace's association to `resourceType`,
 * the namespace's and its objects' property names (and the objects' required names) carry that prefix.
 */
export function prefixProperties(detail: WsObject, resourceType: string): void {
  const associations = (detail.resource_type_associations ?? []) as WsObject[];
  const prefix = associations.find((a) => a.name === resourceType)?.prefix;
  if (typeof prefix !== 'string' || prefix === '') return;
  const prefixed = (props: WsObject): WsObject => {
    const out = emptyRecord<WsValue>();
    for (const [key, value] of Object.entries(props)) out[prefix + key] = value;
    return out;
  };
  if (detail.properties) detail.properties = prefixed(detail.properties as WsObject);
  for (const obj of (detail.objects ?? []) as WsObject[]) {
    obj.properties = prefixed((obj.properties ?? {}) as WsObject);
    const required = obj.required as string[] | undefined;
    if (required && required.length > 0) obj.required = required.map((name) => prefix + name);
  }
}
