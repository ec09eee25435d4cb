import { readFileSync } from 'node:fs';
import {
  fourByteMessage,
  metadefSchemas,
  objectValues,
  parseAssociationBody,
  parseNamespaceBody,
  parseObjectBody,
  parsePropertyBody,
  parseTagBody,
  parseTagsBody,
} from '../../../../api-server/src/domain/metadef-bodies.js';
import type { JsonValue } from '../../../../api-server/src/domain/pyrepr.js';
import { DEFAULT_DOMAIN_CONFIG } from '../../../../api-server/src/domain/types.js';
import { asHttpError } from '../../../../api-server/src/http/error-map.js';

const schemas = metadefSchemas(DEFAULT_DOMAIN_CONFIG);

interface Recorded {
  kind: 'namespace' | 'object' | 'property' | 'tag' | 'tags' | 'association';
  body: JsonValue;
  status: number;
  message: string;
}

// Bodies upstream glance-api 25 refused on the local stack, with the status and message it answered
// (test/unit/api-server/domain/fixtures/upstream-body-errors.json, recorded with each request's JSON error body).
const recorded = JSON.parse(
  readFileSync(new URL('./fixtures/upstream-body-errors.json', import.meta.url), 'utf8'),
) as Recorded[];

const parsers: Record<Recorded['kind'], (body: JsonValue) => unknown> = {
  namespace: (b) => parseNamespaceBody(b, schemas),
  object: (b) => parseObjectBody(b, schemas, true),
  property: (b) => parsePropertyBody(b, schemas),
  tag: (b) => parseTagBody(b, schemas),
  tags: (b) => parseTagsBody(b, schemas),
  association: (b) => parseAssociationBody(b, schemas),
};

function refusal(fn: () => unknown): { status: number; message: string } {
  try {
    fn();
  } catch (err) {
    const http = asHttpError(err);
    if (http) return { status: http.status, message: http.explanation };
    throw err;
  }
  throw new Error('the body was accepted');
}

describe('request bodies refused exactly as upstream refuses them', () => {
  test.each(recorded.map((r) => [r.kind, JSON.stringify(r.body).slice(0, 80), r] as const))(
    '%s %s',
    (_kind, _shown, r) => {
      expect(refusal(() => parsers[r.kind](r.body))).toEqual({ status: r.status, message: r.message });
    },
  );
});

describe('WSME conversion of accepted bodies', () => {
  test('a property default becomes its Python str(); one that is not a scalar becomes null', () => {
    const ns = parseNamespaceBody(
      {
        namespace: 'n',
        properties: {
          a: { title: 'A', type: 'string', default: true },
          b: { title: 'B', type: 'number', default: 1.5 },
          c: { title: 'C', type: 'array', default: ['x'] },
        },
      },
      schemas,
    );
    const props = ns.properties as Record<string, Record<string, unknown>>;
    expect(props.a?.default).toBe('True');
    expect(props.b?.default).toBe('1.5');
    expect(props.c?.default).toBeNull();
  });

  test('integer attributes are truncated as int() truncates', () => {
    const ns = parseNamespaceBody(
      { namespace: 'n', properties: { a: { title: 'A', type: 'number', minimum: 1.9, maximum: -2.5 } } },
      schemas,
    );
    expect(ns.properties).toEqual({ a: { title: 'A', type: 'number', minimum: 1, maximum: -2 } });
  });

  test('an attribute WSME does not declare is a 400 naming it (upstream answers 500)', () => {
    const body = { namespace: 'n', properties: { a: { title: 'A', type: 'string', required: ['x'] } } };
    expect(refusal(() => parseNamespaceBody(body, schemas))).toEqual({
      status: 400,
      message: 'Unknown attribute for argument namespace.properties: required',
    });
  });

  test('an enum of numbers is a 400 (WSME wants text)', () => {
    const body = { name: 'p', title: 'P', type: 'string', enum: [1, 2] };
    expect(refusal(() => parsePropertyBody(body, schemas)).status).toBe(400);
  });

  test('bulk tags keep the request order, duplicates included', () => {
    expect(parseTagsBody({ tags: [{ name: 'b' }, { name: 'a' }, { name: 'b' }] }, schemas)).toEqual([
      'b',
      'a',
      'b',
    ]);
  });

  test('an object row stores required names comma-joined and properties as Python json.dumps', () => {
    const obj = parseObjectBody(
      { name: 'o', required: ['x', 'y'], properties: { x: { type: 'string', title: 'Ünï', default: 3 } } },
      schemas,
      true,
    );
    expect(objectValues(obj).row).toEqual({
      name: 'o',
      required: 'x,y',
      description: null,
      json_schema: '{"x": {"type": "string", "title": "\\u00dcn\\u00ef", "default": "3"}}',
    });
    expect(
      objectValues(parseObjectBody({ name: 'o', required: [] }, schemas, false)).row.required,
    ).toBeNull();
  });
});

describe('fourByteMessage (no_4byte_params)', () => {
  test('dict values are checked before string arguments, nested dicts recursively', () => {
    expect(fourByteMessage([{ name: 'o', json_schema: { p: { title: 'T😀' } } }, 'ns😀'])).toBe(
      "Title can't contain 4 byte unicode characters.",
    );
    expect(fourByteMessage([{ display_name: 'ok' }, 'ns😀'])).toBe(
      "Param values can't contain 4 byte unicode.",
    );
    expect(fourByteMessage([{ 'k😀': 'v' }])).toBe("Property names can't contain 4 byte unicode.");
    expect(fourByteMessage([{ display_name: 'é ü' }, 'plain'])).toBeNull();
  });
});
