import { pyPformat, pyRepr, reprString, type JsonValue } from './pyrepr.js';

// Upstream validates request bodies with python-jsonschema (4.10, draft 2020-12) and returns str() of the best
// matching error as the 400 explanation. This validator covers the keywords the image schema uses and picks
// and renders the error exactly as jsonschema does, so clients read the same message.

export type JsonObject = { [key: string]: JsonValue };

type PathPart = string | number;

interface SchemaError {
  message: string;
  keyword: string;
  path: PathPart[];
  schemaPath: PathPart[];
  schema: JsonObject;
  instance: JsonValue;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isType(value: JsonValue, type: JsonValue): boolean {
  switch (type) {
    case 'object':
      return isJsonObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'null':
      return value === null;
    default:
      return false;
  }
}

// Python ==, except that jsonschema keeps booleans apart from 0 and 1.
export function jsonEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]!));
  if (isJsonObject(a) && isJsonObject(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length &&
      keys.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k]!, b[k]!))
    );
  }
  return false;
}

export function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n += 1;
  return n;
}

function error(message: string, keyword: string, schema: JsonObject, instance: JsonValue): SchemaError {
  return { message, keyword, path: [], schemaPath: [keyword], schema, instance };
}

function* descend(
  instance: JsonValue,
  schema: JsonValue,
  path: PathPart,
  schemaPath: PathPart | null,
): Generator<SchemaError> {
  for (const err of iterErrors(instance, schema)) {
    err.path.unshift(path);
    if (schemaPath !== null) err.schemaPath.unshift(schemaPath);
    yield err;
  }
}

function* keywordErrors(keyword: string, value: JsonValue, instance: JsonValue, schema: JsonObject) {
  switch (keyword) {
    case 'type': {
      const types = Array.isArray(value) ? value : [value];
      if (!types.some((t) => isType(instance, t))) {
        yield error(
          `${pyRepr(instance)} is not of type ${types.map((t) => pyRepr(t)).join(', ')}`,
          keyword,
          schema,
          instance,
        );
      }
      return;
    }
    case 'enum':
      if (Array.isArray(value) && !value.some((v) => jsonEqual(instance, v))) {
        yield error(`${pyRepr(instance)} is not one of ${pyRepr(value)}`, keyword, schema, instance);
      }
      return;
    case 'maxLength':
      if (typeof instance === 'string' && typeof value === 'number' && codePointLength(instance) > value) {
        yield error(`${pyRepr(instance)} is too long`, keyword, schema, instance);
      }
      return;
    case 'minLength':
      if (typeof instance === 'string' && typeof value === 'number' && codePointLength(instance) < value) {
        yield error(`${pyRepr(instance)} is too short`, keyword, schema, instance);
      }
      return;
    case 'pattern':
      if (typeof instance === 'string' && typeof value === 'string' && !new RegExp(value).test(instance)) {
        yield error(`${pyRepr(instance)} does not match ${pyRepr(value)}`, keyword, schema, instance);
      }
      return;
    case 'properties':
      if (!isJsonObject(instance) || !isJsonObject(value)) return;
      for (const [name, sub] of Object.entries(value)) {
        if (Object.hasOwn(instance, name))
          yield* withKeyword(descend(instance[name]!, sub, name, name), keyword);
      }
      return;
    case 'additionalProperties': {
      if (!isJsonObject(instance)) return;
      const declared = isJsonObject(schema.properties) ? schema.properties : {};
      const extras = Object.keys(instance).filter((k) => !Object.hasOwn(declared, k));
      if (isJsonObject(value)) {
        for (const extra of extras)
          yield* withKeyword(descend(instance[extra]!, value, extra, null), keyword);
      } else if (value === false && extras.length > 0) {
        const names = [...extras].sort().map(reprString).join(', ');
        const verb = extras.length === 1 ? 'was' : 'were';
        yield error(
          `Additional properties are not allowed (${names} ${verb} unexpected)`,
          keyword,
          schema,
          instance,
        );
      }
      return;
    }
    case 'items':
      if (!Array.isArray(instance)) return;
      for (let i = 0; i < instance.length; i += 1)
        yield* withKeyword(descend(instance[i]!, value, i, null), keyword);
      return;
    case 'required':
      if (!isJsonObject(instance) || !Array.isArray(value)) return;
      for (const name of value) {
        if (typeof name === 'string' && !Object.hasOwn(instance, name)) {
          yield error(`${reprString(name)} is a required property`, keyword, schema, instance);
        }
      }
      return;
    default:
      return;
  }
}

function* withKeyword(errors: Iterable<SchemaError>, keyword: string): Generator<SchemaError> {
  for (const err of errors) {
    err.schemaPath.unshift(keyword);
    yield err;
  }
}

function* iterErrors(instance: JsonValue, schema: JsonValue): Generator<SchemaError> {
  if (!isJsonObject(schema)) return;
  for (const [keyword, value] of Object.entries(schema))
    yield* keywordErrors(keyword, value, instance, schema);
}

// jsonschema's relevance(): shallower errors first, then errors whose instance does not even match the type;
// max() keeps the first of equals.
function relevance(err: SchemaError): [number, number] {
  const type = err.schema.type;
  const matchesType =
    type === undefined ? false : (Array.isArray(type) ? type : [type]).some((t) => isType(err.instance, t));
  return [-err.path.length, matchesType ? 0 : 1];
}

function bestMatch(errors: Iterable<SchemaError>): SchemaError | null {
  let best: SchemaError | null = null;
  let bestKey: [number, number] = [0, 0];
  for (const err of errors) {
    const key = relevance(err);
    if (best === null || key[0] > bestKey[0] || (key[0] === bestKey[0] && key[1] > bestKey[1])) {
      best = err;
      bestKey = key;
    }
  }
  return best;
}

function formatIndex(container: string, indices: PathPart[]): string {
  if (indices.length === 0) return container;
  return `${container}[${indices.map((i) => (typeof i === 'number' ? String(i) : reprString(i))).join('][')}]`;
}

function indented(value: JsonValue): string {
  return pyPformat(value, 72)
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}

/** str() of jsonschema's best-matching ValidationError for `instance`, or null when it is valid. */
export function validationMessage(instance: JsonValue, schema: JsonObject): string | null {
  const err = bestMatch(iterErrors(instance, schema));
  if (err === null) return null;
  return [
    err.message,
    '',
    `Failed validating ${reprString(err.keyword)} in ${formatIndex('schema', err.schemaPath.slice(0, -1))}:`,
    indented(err.schema),
    '',
    `On ${formatIndex('instance', err.path)}:`,
    indented(err.instance),
  ].join('\n');
}
