import { codePointLength, isJsonObject, isType, jsonEqual, type JsonObject } from './json-schema.js';
import { pyPformat, pyRepr, reprString, type JsonValue } from './pyrepr.js';

// The metadef schemas use keywords the image schema does not ($ref into "definitions", allOf, minimum, minItems,
// uniqueItems), and $ref must stay unresolved in the schemas jsonschema prints. This validator follows
// python-jsonschema 4.10 (draft 2020-12, no format checker) for exactly the keywords those schemas contain, and
// renders str() of jsonschema.exceptions.best_match() as upstream's 400 does.

type PathPart = string | number;

interface SchemaError {
  message: string;
  keyword: string;
  path: PathPart[];
  schemaPath: PathPart[];
  schema: JsonObject;
  instance: JsonValue;
}

class Validator {
  constructor(private readonly root: JsonObject) {}

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

// jsonschema's relevance(): shallower errors first, then those whose instance is not even of the schema's
// type; max() keeps the first of equals.
function relevance(err: SchemaError): [number, number] {
  const type = err.schema.type;
  const matches =
    type !== undefined && (Array.isArray(type) ? type : [type]).some((t) => isType(err.instance, t));
  return [-err.path.length, matches ? 0 : 1];
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

/** str() of the error jsonschema.validate(instance, schema) raises, or null when the instance is valid. */
export function metadefValidationMessage(instance: JsonValue, schema: JsonObject): string | null {
  let best: SchemaError | null = null;
  let bestKey: [number, number] = [0, 0];
  for (const err of new Validator(schema).iterErrors(instance, schema)) {
    const key = relevance(err);
    if (best === null || key[0] > bestKey[0] || (key[0] === bestKey[0] && key[1] > bestKey[1])) {
      best = err;
      bestKey = key;
    }
  }
  if (best === null) return null;
  return [
    best.message,
    '',
    `Failed validating ${reprString(best.keyword)} in ${formatIndex('schema', best.schemaPath.slice(0, -1))}:`,
    indented(best.schema),
    '',
    `On ${formatIndex('instance', best.path)}:`,
    indented(best.instance),
  ].join('\n');
}
