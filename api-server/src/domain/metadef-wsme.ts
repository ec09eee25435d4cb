import { Invalid } from './errors.js';
import { isJsonObject } from './json-schema.js';
import { pyRepr, type JsonValue } from './pyrepr.js';
import { emptyRecord } from './records.js';
import { isoTime } from './represent.js';

// Upstream's metadef controllers convert request bodies and database rows through WSME types
// (glance/api/v2/model/metadef_*.py) and serialise responses with wsme.rest.json.tojson. That conversion
// decides what clients see: attribute order is the declaration order, unset attributes are left out, `default`
// becomes a string, integers are truncated. This module is that conversion.

export type WsType =
  | 'text'
  | 'bool'
  | 'int'
  /** wsme.types.bytes: numbers and strings become their str(); anything else None. */
  | 'bytes'
  | { readonly array: WsType }
  | { readonly dict: WsType }
  | ComplexType;

export interface WsAttribute {
  readonly name: string;
  readonly type: WsType;
  readonly mandatory?: true;
}

export interface ComplexType {
  readonly complex: string;
  readonly attributes: readonly WsAttribute[];
}

/** An instance of a complex type: a missing key is wsme's Unset, null is None. */
export type WsObject = { [key: string]: WsValue };
export type WsValue = null | boolean | number | string | WsValue[] | WsObject;

const attr = (name: string, type: WsType, mandatory?: true): WsAttribute =>
  mandatory ? { name, type, mandatory } : { name, type };

export const ITEM_TYPE: ComplexType = {
  complex: 'ItemType',
  attributes: [attr('type', 'text', true), attr('enum', { array: 'text' })],
};

export const PROPERTY_TYPE: ComplexType = {
  complex: 'PropertyType',
  attributes: [
    attr('name', 'text'),
    attr('type', 'text', true),
    attr('title', 'text', true),
    attr('description', 'text'),
    attr('operators', { array: 'text' }),
    attr('default', 'bytes'),
    attr('readonly', 'bool'),
    attr('minimum', 'int'),
    attr('maximum', 'int'),
    attr('enum', { array: 'text' }),
    attr('pattern', 'text'),
    attr('minLength', 'int'),
    attr('maxLength', 'int'),
    attr('confidential', 'bool'),
    attr('items', ITEM_TYPE),
    attr('uniqueItems', 'bool'),
    attr('minItems', 'int'),
    attr('maxItems', 'int'),
    attr('additionalItems', 'bool'),
  ],
};

export const PROPERTY_TYPES: ComplexType = {
  complex: 'PropertyTypes',
  attributes: [attr('properties', { dict: PROPERTY_TYPE })],
};

export const METADEF_OBJECT: ComplexType = {
  complex: 'MetadefObject',
  attributes: [
    attr('name', 'text', true),
    attr('required', { array: 'text' }),
    attr('description', 'text'),
    attr('properties', { dict: PROPERTY_TYPE }),
    attr('created_at', 'text'),
    attr('updated_at', 'text'),
    attr('self', 'text'),
    attr('schema', 'text'),
  ],
};

export const METADEF_OBJECTS: ComplexType = {
  complex: 'MetadefObjects',
  attributes: [attr('objects', { array: METADEF_OBJECT }), attr('schema', 'text', true)],
};

export const RESOURCE_TYPE_ASSOCIATION: ComplexType = {
  complex: 'ResourceTypeAssociation',
  attributes: [
    attr('name', 'text', true),
    attr('prefix', 'text'),
    attr('properties_target', 'text'),
    attr('created_at', 'text'),
    attr('updated_at', 'text'),
  ],
};

export const RESOURCE_TYPE_ASSOCIATIONS: ComplexType = {
  complex: 'ResourceTypeAssociations',
  attributes: [attr('resource_type_associations', { array: RESOURCE_TYPE_ASSOCIATION })],
};

export const RESOURCE_TYPE: ComplexType = {
  complex: 'ResourceType',
  attributes: [attr('name', 'text', true), attr('created_at', 'text'), attr('updated_at', 'text')],
};

export const RESOURCE_TYPES: ComplexType = {
  complex: 'ResourceTypes',
  attributes: [attr('resource_types', { array: RESOURCE_TYPE })],
};

export const METADEF_TAG: ComplexType = {
  complex: 'MetadefTag',
  attributes: [attr('name', 'text', true), attr('created_at', 'text'), attr('updated_at', 'text')],
};

export const METADEF_TAGS: ComplexType = {
  complex: 'MetadefTags',
  attributes: [attr('tags', { array: METADEF_TAG })],
};

export const NAMESPACE: ComplexType = {
  complex: 'Namespace',
  attributes: [
    attr('namespace', 'text', true),
    attr('display_name', 'text'),
    attr('description', 'text'),
    attr('visibility', 'text'),
    attr('protected', 'bool'),
    attr('owner', 'text'),
    attr('created_at', 'text'),
    attr('updated_at', 'text'),
    attr('resource_type_associations', { array: RESOURCE_TYPE_ASSOCIATION }),
    attr('properties', { dict: PROPERTY_TYPE }),
    attr('objects', { array: METADEF_OBJECT }),
    attr('tags', { array: METADEF_TAG }),
    attr('self', 'text'),
    attr('schema', 'text'),
  ],
};

export const NAMESPACES: ComplexType = {
  complex: 'Namespaces',
  attributes: [
    attr('namespaces', { array: NAMESPACE }),
    attr('next', 'text'),
    attr('schema', 'text', true),
    attr('first', 'text', true),
  ],
};

function isComplex(type: WsType): type is ComplexType {
  return typeof type === 'object' && 'complex' in type;
}

function typeName(type: WsType): string {
  if (type === 'text') return "<class 'str'>";
  if (type === 'bool') return "<class 'bool'>";
  if (type === 'int') return "<class 'int'>";
  if (type === 'bytes') return "<class 'bytes'>";
  if ('array' in type) return `[${typeName(type.array)}]`;
  if ('dict' in type) return `{<class 'str'>: ${typeName(type.dict)}}`;
  return `<class '${type.complex}'>`;
}

function pyTypeName(value: unknown): string {
  if (value === null) return "<class 'NoneType'>";
  if (typeof value === 'boolean') return "<class 'bool'>";
  if (typeof value === 'number') return Number.isInteger(value) ? "<class 'int'>" : "<class 'float'>";
  if (typeof value === 'string') return "<class 'str'>";
  if (Array.isArray(value)) return "<class 'list'>";
  return "<class 'dict'>";
}

/**
 * WSME's conversion errors. Upstream lets them escape as a 500; this server answers 400 with WSME's own text,
 * since the request, not the server, is at fault.
 */
class ConversionError extends Error {
  /** Attribute names from the body down to the failing value, filled in on the way out. */
  readonly fieldPath: string[] = [];

  constructor(
    message: string,
    /** WSME's UnknownAttribute: the names the type does not declare. */
    readonly unknown: string[] = [],
  ) {
    super(message);
  }
}

function invalidInput(field: string, value: unknown, reason: string): ConversionError {
  const shown = typeof value === 'string' ? value : pyRepr(value as JsonValue);
  return new ConversionError(`Invalid input for field/attribute ${field}. Value: '${shown}'. ${reason}`);
}

// wsme's validate_value: the check setattr runs after fromjson converted the value.
function validate(type: WsType, value: WsValue, field: string): WsValue {
  if (value === null) return null;
  if (typeof type === 'object' && 'array' in type) {
    if (!Array.isArray(value)) {
      throw invalidInput(
        field,
        value,
        `Wrong type. Expected '${typeName(type)}', got '${pyTypeName(value)}'`,
      );
    }
    return value.map((item) => validate(type.array, item, field));
  }
  const ok =
    type === 'text' || type === 'bytes'
      ? typeof value === 'string'
      : type === 'int'
        ? typeof value === 'number' && Number.isInteger(value)
        : type === 'bool'
          ? typeof value === 'boolean'
          : isJsonObject(value as JsonValue) && !Array.isArray(value);
  if (!ok) {
    throw invalidInput(field, value, `Wrong type. Expected '${typeName(type)}', got '${pyTypeName(value)}'`);
  }
  return value;
}

const ENUM_TRUE = new Set(['true', 't', 'yes', 'y', 'on', '1']);
const ENUM_FALSE = new Set(['false', 'f', 'no', 'n', 'off', '0']);

function convert(type: WsType, value: JsonValue, field: string): WsValue {
  if (value === null) return null;
  if (isComplex(type)) return convertComplex(type, value);
  if (typeof type === 'object' && 'array' in type) {
    if (!Array.isArray(value)) throw new ConversionError(`Value not a valid list: ${pyRepr(value)}`);
    return value.map((item) => convert(type.array, item, field));
  }
  if (typeof type === 'object') {
    if (!isJsonObject(value)) throw new ConversionError(`Value not a valid dict: ${pyRepr(value)}`);
    const out = emptyRecord<WsValue>();
    for (const [key, item] of Object.entries(value)) out[key] = convert(type.dict, item, field);
    return out;
  }
  switch (type) {
    case 'text':
      return value as WsValue;
    case 'bytes':
      return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
        ? pyStr(value)
        : null;
    case 'int':
      return pyInt(value, field);
    case 'bool':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'number' && Number.isInteger(value)) return value !== 0;
      if (typeof value === 'string' && ENUM_TRUE.has(value)) return true;
      if (typeof value === 'string' && ENUM_FALSE.has(value)) return false;
      throw new ConversionError(
        `Value not an unambiguous boolean: ${typeof value === 'string' ? value : pyRepr(value)}`,
      );
  }
}

/** Python's str() of a JSON scalar. */
function pyStr(value: string | number | boolean): string {
  if (typeof value === 'string') return value;
  return pyRepr(value);
}

/** Python's int() of a JSON value, as wsme's numeric_fromjson applies it. */
function pyInt(value: JsonValue, field: string): number {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalidInput(field, value, 'cannot convert float to integer');
    return Math.trunc(value);
  }
  if (typeof value === 'string' && /^\s*[-+]?\d+(_\d+)*\s*$/.test(value))
    return Number(value.replace(/_/g, ''));
  if (typeof value === 'string') {
    throw new ConversionError(`invalid literal for int() with base 10: ${pyRepr(value)}`);
  }
  throw new ConversionError(
    `int() argument must be a string, a bytes-like object or a real number, not '${pyTypeName(value).slice(8, -2)}'`,
  );
}

function convertComplex(type: ComplexType, value: JsonValue): WsObject {
  if (!isJsonObject(value)) throw new ConversionError(`Value not a valid dict: ${pyRepr(value)}`);
  const known = new Set(type.attributes.map((a) => a.name));
  const unknown = Object.keys(value).filter((k) => !known.has(k));
  if (unknown.length > 0) {
    throw new ConversionError('', unknown);
  }
  const out = emptyRecord<WsValue>();
  for (const a of type.attributes) {
    if (Object.hasOwn(value, a.name)) {
      let converted: WsValue;
      try {
        converted = convert(a.type, value[a.name]!, a.name);
      } catch (err) {
        if (err instanceof ConversionError) err.fieldPath.unshift(a.name);
        throw err;
      }
      out[a.name] = validate(a.type, converted, a.name);
    } else if (a.mandatory) {
      throw invalidInput(a.name, null, 'Mandatory field missing.');
    }
  }
  return out;
}

/**
 * wsme.rest.json.fromjson(type, body). `argument` names the body the way WSME's messages do ('namespace',
 * 'metadata_object', …). Conversion errors become Invalid.
 */
export function fromJson(type: ComplexType, body: JsonValue, argument: string): WsObject {
  try {
    return convertComplex(type, body);
  } catch (err) {
    if (!(err instanceof ConversionError)) throw err;
    if (err.unknown.length === 0) throw new Invalid(err.message);
    const noun = err.unknown.length > 1 ? 'attributes' : 'attribute';
    const where = [argument, ...err.fieldPath].join('.');
    throw new Invalid(`Unknown ${noun} for argument ${where}: ${err.unknown.join(', ')}`);
  }
}

/** wsme.rest.json.tojson(type, value): set attributes in declaration order, converted recursively. */
export function toJson(type: WsType, value: WsValue): JsonValue {
  if (value === null) return null;
  if (isComplex(type)) {
    const obj = value as WsObject;
    const out: { [key: string]: JsonValue } = emptyRecord<JsonValue>();
    for (const a of type.attributes) {
      if (Object.hasOwn(obj, a.name)) out[a.name] = toJson(a.type, obj[a.name]!);
    }
    return out;
  }
  if (typeof type === 'object' && 'array' in type)
    return (value as WsValue[]).map((v) => toJson(type.array, v));
  if (typeof type === 'object') {
    const out: { [key: string]: JsonValue } = emptyRecord<JsonValue>();
    for (const [key, item] of Object.entries(value as WsObject)) out[key] = toJson(type.dict, item);
    return out;
  }
  return value as JsonValue;
}

/**
 * WSMEModelTransformer.to_wsme_model: the entity's attributes the type declares, leaving out None, dates as
 * timeutils.isotime() strings.
 */
export function toModel(type: ComplexType, entity: Record<string, WsValue | Date | undefined>): WsObject {
  const out = emptyRecord<WsValue>();
  for (const a of type.attributes) {
    const value = entity[a.name];
    if (value === undefined || value === null) continue;
    out[a.name] = value instanceof Date ? isoTime(value) : value;
  }
  return out;
}
