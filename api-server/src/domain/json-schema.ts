import { pyPformat, pyRepr, reprString, type JsonValue } from './pyrepr.js';

// Upstream validates request bodies with python-jsonschema (4.10, draft 2020-12, no format checker) and returns
// str() of the best matching error as the 400 explanation. This validator follows jsonschema for the keywords
// upstream's schemas contain, and picks and renders the error exactly as jsonschema does, so clients read the
// same message.

export type JsonObject = { [key: string]: JsonValue };

type PathPart = string | number;

/**
 * The keywords the image, member and task schemas are checked with (any other keyword, in a custom property
 * of schema-image.json say, is not checked).
 */
export const IMAGE_KEYWORDS: ReadonlySet<string> = new Set([
  'type',
  'enum',
  'maxLength',
  'minLength',
  'pattern',
  'properties',
  'additionalProperties',
  'items',
  'required',
]);

/**
 * The keywords of the metadef schemas, which add $ref into "definitions" (left unresolved in the schemas
 * jsonschema prints), allOf, bounds and uniqueItems to the image schema's, and have no pattern.
 */
export const METADEF_KEYWORDS: ReadonlySet<string> = new Set([
  '$ref',
  'allOf',
  'type',
  'enum',
  'maxLength',
  'minLength',
  'minimum',
  'maximum',
  'minItems',
  'maxItems',
  'uniqueItems',
  'properties',
  'additionalProperties',
  'items',
  'required',
]);

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

class Validator {
  constructor(
    private readonly root: JsonObject,
    private readonly keywords: ReadonlySet<string>,
  ) {}

  // Only the local "#/definitions/<name>" references upstream's schemas make.
  private resolve(ref: string): JsonValue {
    const match = /^#\/definitions\/(.+)$/.exec(ref);
    const definitions = this.root.definitions;
    if (!match?.[1] || !isJsonObject(definitions) || !Object.hasOwn(definitions, match[1])) {
      throw new Error(`unresolvable schema reference ${ref}`);
    }
    return definitions[match[1]]!;
  }

  *iterErrors(instance: JsonValue, schema: JsonValue): Generator<SchemaError> {
    if (!isJsonObject(schema)) return;
    for (const [keyword, value] of Object.entries(schema)) {
      if (!this.keywords.has(keyword)) continue;
      for (const err of this.keywordErrors(keyword, value, instance, schema)) {
        // $ref is transparent in schema paths, as jsonschema leaves it out of them.
        if (keyword !== '$ref') err.schemaPath.unshift(keyword);
        yield err;
      }
    }
  }

  private *descend(
    instance: JsonValue,
    schema: JsonValue,
    path: PathPart | null,
    schemaPath: PathPart | null,
  ): Generator<SchemaError> {
    for (const err of this.iterErrors(instance, schema)) {
      if (path !== null) err.path.unshift(path);
      if (schemaPath !== null) err.schemaPath.unshift(schemaPath);
      yield err;
    }
  }

  private *keywordErrors(
    keyword: string,
    value: JsonValue,
    instance: JsonValue,
    schema: JsonObject,
  ): Generator<SchemaError> {
    const fail = (message: string): SchemaError => ({
      message,
      keyword,
      path: [],
      schemaPath: [],
      schema,
      instance,
    });
    switch (keyword) {
      case '$ref':
        if (typeof value === 'string') yield* this.descend(instance, this.resolve(value), null, null);
        return;
      case 'allOf':
        if (Array.isArray(value)) {
          for (let i = 0; i < value.length; i += 1) yield* this.descend(instance, value[i]!, null, i);
        }
        return;
      case 'type': {
        const types = Array.isArray(value) ? value : [value];
        if (!types.some((t) => isType(instance, t))) {
          yield fail(`${pyRepr(instance)} is not of type ${types.map((t) => pyRepr(t)).join(', ')}`);
        }
        return;
      }
      case 'enum':
        if (Array.isArray(value) && !value.some((v) => jsonEqual(instance, v))) {
          yield fail(`${pyRepr(instance)} is not one of ${pyRepr(value)}`);
        }
        return;
      case 'maxLength':
        if (typeof instance === 'string' && typeof value === 'number' && codePointLength(instance) > value) {
          yield fail(`${pyRepr(instance)} is too long`);
        }
        return;
      case 'minLength':
        if (typeof instance === 'string' && typeof value === 'number' && codePointLength(instance) < value) {
          yield fail(`${pyRepr(instance)} is too short`);
        }
        return;
      case 'pattern':
        if (typeof instance === 'string' && typeof value === 'string' && !new RegExp(value).test(instance)) {
          yield fail(`${pyRepr(instance)} does not match ${pyRepr(value)}`);
        }
        return;
      case 'minimum':
        if (typeof instance === 'number' && typeof value === 'number' && instance < value) {
          yield fail(`${pyRepr(instance)} is less than the minimum of ${pyRepr(value)}`);
        }
        return;
      case 'maximum':
        if (typeof instance === 'number' && typeof value === 'number' && instance > value) {
          yield fail(`${pyRepr(instance)} is greater than the maximum of ${pyRepr(value)}`);
        }
        return;
      case 'minItems':
        if (Array.isArray(instance) && typeof value === 'number' && instance.length < value) {
          yield fail(`${pyRepr(instance)} is too short`);
        }
        return;
      case 'maxItems':
        if (Array.isArray(instance) && typeof value === 'number' && instance.length > value) {
          yield fail(`${pyRepr(instance)} is too long`);
        }
        return;
      case 'uniqueItems':
        if (value === true && Array.isArray(instance)) {
          const unique = instance.every((item, i) =>
            instance.slice(0, i).every((prior) => !jsonEqual(prior, item)),
          );
          if (!unique) yield fail(`${pyRepr(instance)} has non-unique elements`);
        }
        return;
      case 'properties':
        if (!isJsonObject(instance) || !isJsonObject(value)) return;
        for (const [name, sub] of Object.entries(value)) {
          if (Object.hasOwn(instance, name)) yield* this.descend(instance[name]!, sub, name, name);
        }
        return;
      case 'additionalProperties': {
        if (!isJsonObject(instance)) return;
        const declared = isJsonObject(schema.properties) ? schema.properties : {};
        const extras = Object.keys(instance).filter((k) => !Object.hasOwn(declared, k));
        if (isJsonObject(value)) {
          for (const extra of extras) yield* this.descend(instance[extra]!, value, extra, null);
        } else if (value === false && extras.length > 0) {
          // jsonschema joins a set, whose order Python's hash seed decides; sorted is as good and stable.
          const names = [...extras].sort().map(reprString).join(', ');
          yield fail(
            `Additional properties are not allowed (${names} ${extras.length === 1 ? 'was' : 'were'} unexpected)`,
          );
        }
        return;
      }
      case 'items':
        if (!Array.isArray(instance)) return;
        for (let i = 0; i < instance.length; i += 1) yield* this.descend(instance[i]!, value, i, null);
        return;
      case 'required':
        if (!isJsonObject(instance) || !Array.isArray(value)) return;
        for (const name of value) {
          if (typeof name === 'string' && !Object.hasOwn(instance, name)) {
            yield fail(`${reprString(name)} is a required property`);
          }
        }
        return;
      default:
        return;
    }
  }
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

/**
 * str() of jsonschema's best-matching ValidationError for `instance`, or null when it is valid, checking the
 * `keywords` of the schema.
 */
export function validationMessage(
  instance: JsonValue,
  schema: JsonObject,
  keywords: ReadonlySet<string> = IMAGE_KEYWORDS,
): string | null {
  const err = bestMatch(new Validator(schema, keywords).iterErrors(instance, schema));
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
