import { validationMessage } from '../../../../api-server/src/domain/json-schema.js';
import { pyPformat, pyRepr } from '../../../../api-server/src/domain/pyrepr.js';

// Expected strings were produced by Debian's CPython 3.11 (repr, pprint.pformat) and python-jsonschema 4.10,
// which upstream glance runs on.
describe('pyRepr', () => {
  it.each([
    [null, 'None'],
    [true, 'True'],
    [-5, '-5'],
    [1.5, '1.5'],
    [1e-5, '1e-05'],
    [2.5e20, '250000000000000000000'],
    [1e300, '1e+300'],
    ["it's", '"it\'s"'],
    ['a"b\'c', "'a\"b\\'c'"],
    ['tab\there\nnl', "'tab\\there\\nnl'"],
    ['é \u200b \x7f \u{1F600}', "'é \\u200b \\x7f \u{1F600}'"],
    [{ b: [1, 'x'], a: {} }, "{'b': [1, 'x'], 'a': {}}"],
  ])('renders %j as %s', (value, text) => {
    expect(pyRepr(value)).toBe(text);
  });
});

describe('pyPformat', () => {
  it('wraps long containers and strings like pprint', () => {
    expect(
      pyPformat({ z: 1, a: { nested: { deep: 'x'.repeat(70), other: [1, 'two', null, false] } }, m: [] }, 72),
    ).toBe(
      "{'a': {'nested': {'deep': 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',\n" +
        "                  'other': [1, 'two', None, False]}},\n" +
        " 'm': [],\n" +
        " 'z': 1}",
    );
    expect(pyPformat('word '.repeat(20), 72)).toBe(
      "('word word word word word word word word word word word word word '\n 'word word word word word word word ')",
    );
  });
});

describe('validationMessage', () => {
  const schema = {
    properties: {
      a: { type: 'integer' },
      b: { type: 'string', enum: ['x'] },
      c: { type: 'object', required: ['k'] },
    },
    additionalProperties: false,
  };

  it('is null for a valid instance', () => {
    expect(validationMessage({ a: 1, b: 'x', c: { k: 1 } }, schema)).toBeNull();
  });

  it('prefers errors whose value has the wrong type, then the first one found', () => {
    expect(validationMessage({ b: 'y', a: 'no' }, schema)).toBe(
      "'no' is not of type 'integer'\n\nFailed validating 'type' in schema['properties']['a']:\n" +
        "    {'type': 'integer'}\n\nOn instance['a']:\n    'no'",
    );
    expect(validationMessage({ b: 'y', c: {} }, schema)).toMatch(/^'y' is not one of \['x'\]\n/);
  });

  it('reports unexpected and missing properties', () => {
    expect(validationMessage({ z: 1, y: 2 }, schema)).toBe(
      "Additional properties are not allowed ('y', 'z' were unexpected)\n\nFailed validating " +
        "'additionalProperties' in schema:\n" +
        "    {'additionalProperties': False,\n" +
        "     'properties': {'a': {'type': 'integer'},\n" +
        "                    'b': {'enum': ['x'], 'type': 'string'},\n" +
        "                    'c': {'required': ['k'], 'type': 'object'}}}\n\n" +
        'On instance:\n' +
        "    {'y': 2, 'z': 1}",
    );
    expect(validationMessage({ c: {} }, schema)).toMatch(/^'k' is a required property\n/);
  });
});
