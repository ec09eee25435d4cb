import { pythonJson } from './python-json.js';
import { Forbidden, Invalid } from './errors.js';
import { METADEF_KEYWORDS, validationMessage, type JsonObject } from './json-schema.js';
import type { ObjectValues } from './metadef-types.js';
import {
  METADEF_OBJECT,
  METADEF_TAG,
  METADEF_TAGS,
  NAMESPACE,
  PROPERTY_TYPE,
  RESOURCE_TYPE_ASSOCIATION,
  fromJson,
  toJson,
  type WsObject,
} from './metadef-wsme.js';
import type { JsonValue } from './pyrepr.js';
import { emptyRecord } from './records.js';
import { schemaDocument, type ImageSchemaConfig } from './schemas.js';

// Request bodies of the metadef calls, read as upstream's metadef RequestDeserializers read them: read-only
// attributes refused (403), then the JSON schema (400), then the WSME conversion.

/** The validation schemas, built once from the documents /v2/schemas serves. */
export interface MetadefSchemas {
  namespace: JsonObject;
  object: JsonObject;
  /** A property on its own: its name is required. */
  property: JsonObject;
  /** A property inside an object, where the name is the key. */
  objectProperty: JsonObject;
  tag: JsonObject;
  /** metadef_tags.get_schema_for_list(), for the bulk create. */
  tags: JsonObject;
  resourceTypeAssociation: JsonObject;
}

export function metadefSchemas(cfg: ImageSchemaConfig): MetadefSchemas {
  const property = schemaDocument('metadefs/property', cfg);
  return {
    namespace: schemaDocument('metadefs/namespace', cfg),
    object: schemaDocument('metadefs/object', cfg),
    property,
    objectProperty: { ...property, required: ['type', 'title'] },
    tag: schemaDocument('metadefs/tag', cfg),
    tags: {
      name: 'tags',
      properties: {
        tags: {
          type: 'array',
          items: {
            type: 'object',
            properties: { name: { type: 'string' } },
            required: ['name'],
            additionalProperties: false,
          },
        },
      },
      additionalProperties: false,
    },
    resourceTypeAssociation: schemaDocument('metadefs/resource_type', cfg),
  };
}

/** `key in body`, for the dict or list a JSON body is. */
function contains(body: JsonValue, key: string): boolean {
  if (Array.isArray(body)) return body.includes(key);
  return typeof body === 'object' && body !== null && Object.hasOwn(body, key);
}

function checkAllowed(body: JsonValue, readOnly: readonly string[]): void {
  for (const key of readOnly) {
    if (contains(body, key)) throw new Forbidden(`Attribute '${key}' is read-only.`);
  }
}

/** glance.schema.Schema.validate: the schema's name and jsonschema's message in a 400. */
export function validateBody(body: JsonValue, schema: JsonObject): void {
  const message = validationMessage(body, schema, METADEF_KEYWORDS);
  if (message !== null) {
    throw new Invalid(`Provided object does not match schema '${String(schema.name)}': ${message}`);
  }
}

const NAMESPACE_READ_ONLY = ['self', 'schema', 'created_at', 'updated_at'] as const;
const TIMESTAMPS = ['created_at', 'updated_at'] as const;

/** POST /v2/metadefs/namespaces and PUT /v2/metadefs/namespaces/{ns}. */
export function parseNamespaceBody(body: JsonValue, schemas: MetadefSchemas): WsObject {
  checkAllowed(body, NAMESPACE_READ_ONLY);
  validateBody(body, schemas.namespace);
  return fromJson(NAMESPACE, body, 'namespace');
}

/** POST (each property also checked alone) and PUT of /v2/metadefs/namespaces/{ns}/objects[/{name}]. */
export function parseObjectBody(body: JsonValue, schemas: MetadefSchemas, create: boolean): WsObject {
  checkAllowed(body, NAMESPACE_READ_ONLY);
  validateBody(body, schemas.object);
  if (create && contains(body, 'properties')) {
    const properties = (body as JsonObject).properties as JsonObject;
    for (const property of Object.values(properties)) validateBody(property, schemas.objectProperty);
  }
  return fromJson(METADEF_OBJECT, body, 'metadata_object');
}

/** POST /v2/metadefs/namespaces/{ns}/properties and PUT …/properties/{name}. */
export function parsePropertyBody(body: JsonValue, schemas: MetadefSchemas): WsObject {
  checkAllowed(body, TIMESTAMPS);
  validateBody(body, schemas.property);
  return fromJson(PROPERTY_TYPE, body, 'property_type');
}

/** PUT /v2/metadefs/namespaces/{ns}/tags/{name}. */
export function parseTagBody(body: JsonValue, schemas: MetadefSchemas): WsObject {
  checkAllowed(body, TIMESTAMPS);
  validateBody(body, schemas.tag);
  return fromJson(METADEF_TAG, body, 'metadata_tag');
}

/** POST /v2/metadefs/namespaces/{ns}/tags: the names, in request order. */
export function parseTagsBody(body: JsonValue, schemas: MetadefSchemas): string[] {
  checkAllowed(body, TIMESTAMPS);
  validateBody(body, schemas.tags);
  const tags = fromJson(METADEF_TAGS, body, 'metadata_tags').tags;
  return Array.isArray(tags) ? tags.map((t) => String((t as WsObject).name)) : [];
}

/** POST /v2/metadefs/namespaces/{ns}/resource_types. */
export function parseAssociationBody(body: JsonValue, schemas: MetadefSchemas): WsObject {
  checkAllowed(body, TIMESTAMPS);
  validateBody(body, schemas.resourceTypeAssociation);
  return fromJson(RESOURCE_TYPE_ASSOCIATION, body, 'resource_type');
}

/**
 * MetadefObjectRepo._format_metadef_object_to_db: the row for a WSME object (`columns` as the database layer's
 * 4-byte check sees them, with the properties still a dict).
 */
export function objectValues(obj: WsObject): { row: ObjectValues; columns: Record<string, unknown> } {
  const required = obj.required as string[] | null | undefined;
  const schema = emptyRecord<JsonValue>();
  for (const [name, property] of Object.entries((obj.properties ?? {}) as WsObject)) {
    schema[name] = toJson(PROPERTY_TYPE, property);
  }
  const columns = {
    name: obj.name as string,
    required: required && required.length > 0 ? required.join(',') : null,
    description: (obj.description as string | undefined) ?? null,
    json_schema: schema,
  };
  return { row: { ...columns, json_schema: pythonJson(schema) }, columns };
}

const FOUR_BYTE = /[\u{10000}-\u{10FFFF}]/u;

// str.title(): upper-case the first letter of every run of letters, lower-case the rest.
function pyTitle(s: string): string {
  let out = '';
  let previousCased = false;
  for (const ch of s) {
    const cased = ch.toLowerCase() !== ch.toUpperCase();
    out += cased ? (previousCased ? ch.toLowerCase() : ch.toUpperCase()) : ch;
    previousCased = cased;
  }
  return out;
}

function fourByteInDict(dict: Record<string, unknown>): string | null {
  for (const [key, value] of Object.entries(dict)) {
    if (typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date)) {
      const nested = fourByteInDict(value as Record<string, unknown>);
      if (nested !== null) return nested;
      continue;
    }
    if (FOUR_BYTE.test(key)) return "Property names can't contain 4 byte unicode.";
    if (typeof value === 'string' && FOUR_BYTE.test(value)) {
      return `${pyTitle(key)} can't contain 4 byte unicode characters.`;
    }
  }
  return null;
}

/**
 * Upstream's no_4byte_params decorator on the metadef database calls (MySQL's utf8 columns cannot hold such
 * characters): dict arguments first, recursively, then string arguments. The message, or null.
 */
export function fourByteMessage(args: readonly (string | Record<string, unknown>)[]): string | null {
  for (const arg of args) {
    if (typeof arg === 'string') continue;
    const found = fourByteInDict(arg);
    if (found !== null) return found;
  }
  for (const arg of args) {
    if (typeof arg === 'string' && FOUR_BYTE.test(arg)) return "Param values can't contain 4 byte unicode.";
  }
  return null;
}
