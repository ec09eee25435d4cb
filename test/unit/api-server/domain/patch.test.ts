import {
  applyPatch,
  parsePatch,
  type PatchAuthorization,
  type PatchOp,
} from '../../../../api-server/src/domain/patch.js';
import type { DomainContext, ImageRecord } from '../../../../api-server/src/domain/types.js';
import { HttpError } from '../../../../api-server/src/http/errors.js';
import { config, errorText, httpError, image } from './helpers.js';

const V20 = 'application/openstack-images-v2.0-json-patch';
const V21 = 'application/openstack-images-v2.1-json-patch';
const owner: DomainContext = { projectId: 'p1', isAdmin: false };
const admin: DomainContext = { projectId: 'adminproject', isAdmin: true };
const locationsOn = { ...config, showMultipleLocations: true };

function parse(body: unknown, contentType = V21) {
  return parsePatch(contentType, body, config);
}

function apply(rec: ImageRecord, body: unknown, opts: { ctx?: DomainContext; contentType?: string } = {}) {
  const cfg = locationsOn;
  const ops = parsePatch(opts.contentType ?? V21, body, cfg);
  return applyPatch(rec, ops, opts.ctx ?? owner, { config: cfg, authorize: () => {} });
}

const SHA512_OF_HELLO =
  '9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043';

describe('parsePatch', () => {
  it('reads both json-patch dialects', () => {
    const expected: Omit<PatchOp, 'dialect'>[] = [
      { op: 'add', path: ['a/b~c'], value: 'x' },
      { op: 'remove', path: ['foo'] },
    ];
    expect(
      parse([
        { op: 'add', path: '/a~1b~0c', value: 'x' },
        { op: 'remove', path: '/foo' },
      ]),
    ).toEqual(expected.map((op) => ({ ...op, dialect: 'v2.1' })));
    expect(parse([{ add: '/a~1b~0c', value: 'x' }, { remove: '/foo' }], V20)).toEqual(
      expected.map((op) => ({ ...op, dialect: 'v2.0' })),
    );
    expect(parse([{ op: 'add', path: '/x', value: 'y' }], `${V21}; charset=UTF-8`)).toHaveLength(1);
  });

  it('answers any other media type with 415 and the Accept-Patch header', () => {
    const err = httpError(() => parse([], 'application/json'));
    expect(err.status).toBe(415);
    expect(err.headers).toEqual({ 'Accept-Patch': `${V20}, ${V21}` });
    expect(httpError(() => parsePatch(undefined, [], config)).status).toBe(415);
  });

  it.each([
    [undefined, V21, 'Body expected in request.'],
    [{ op: 'add' }, V21, 'Request body must be a JSON array of operation objects.'],
    [['x'], V21, 'Operations must be JSON objects.'],
    [
      [{ path: '/x', value: 1 }],
      V21,
      'Unable to find `op` in JSON Schema change. It must be one of the following: add, remove, replace.',
    ],
    [
      [{ op: 'move', path: '/x' }],
      V21,
      'Invalid operation: `move`. It must be one of the following: add, remove, replace.',
    ],
    [
      [{ op: 5, path: '/x' }],
      V21,
      'Invalid operation: `5`. It must be one of the following: add, remove, replace.',
    ],
    [[{ op: 'add', value: 1 }], V21, "Unable to find 'path' in JSON Schema change"],
    [
      [{ add: '/x', remove: '/y' }],
      V20,
      'Operation objects must contain only one member named "add", "remove", or "replace".',
    ],
    [
      [{ value: 1 }],
      V20,
      'Operation objects must contain exactly one member named "add", "remove", or "replace".',
    ],
    [[{ op: 'add', path: 'x', value: '1' }], V21, 'Pointer `x` does not start with "/".'],
    [[{ op: 'add', path: '/a//b', value: '1' }], V21, 'Pointer `/a//b` contains adjacent "/".'],
    [[{ op: 'add', path: '/a/', value: '1' }], V21, 'Pointer `/a/` end with "/".'],
    [
      [{ op: 'add', path: '/a~2', value: '1' }],
      V21,
      'Pointer `/a~2` contains "~" not part of a recognized escape sequence.',
    ],
    [[{ op: 'add', path: '/a/b', value: '1' }], V21, "Invalid JSON pointer for this resource: '/a/b'"],
    [
      [{ op: 'add', path: '/locations', value: {} }],
      V21,
      "Invalid JSON pointer for this resource: '/locations'",
    ],
    [
      [{ op: 'replace', path: '/locations/1', value: [] }],
      V21,
      "Invalid JSON pointer for this resource: '/locations/1'",
    ],
    [[{ op: 'add', path: '/name' }], V21, 'Operation "add" requires a member named "value".'],
  ])('refuses %j (%s) with 400', (body, contentType, message) => {
    const err = httpError(() => parse(body, contentType));
    expect([err.status, err.explanation]).toEqual([400, message]);
  });

  it('refuses read-only and reserved paths with 403', () => {
    for (const root of ['status', 'id', 'checksum', 'os_hash_value', 'self', 'direct_url']) {
      expect(errorText(httpError(() => parse([{ op: 'remove', path: `/${root}` }])))).toBe(
        `Attribute '${root}' is read-only.`,
      );
    }
    for (const root of ['location', 'deleted', 'os_glance_import_task']) {
      const err = httpError(() => parse([{ op: 'replace', path: `/${root}`, value: 'x' }]));
      expect([err.status, err.explanation]).toEqual([403, `Attribute '${root}' is reserved.`]);
    }
  });

  it('validates each value against the image schema', () => {
    expect(
      httpError(() => parse([{ op: 'replace', path: '/visibility', value: 'everyone' }])).explanation,
    ).toBe(
      "Provided object does not match schema 'image': 'everyone' is not one of ['community', 'public', 'private', " +
        "'shared']\n\nFailed validating 'enum' in schema['properties']['visibility']:\n" +
        "    {'description': 'Scope of image accessibility',\n" +
        "     'enum': ['community', 'public', 'private', 'shared'],\n" +
        "     'type': 'string'}\n\nOn instance['visibility']:\n    'everyone'",
    );
    // A location added by position is checked as one element of the locations array.
    expect(
      httpError(() => parse([{ op: 'add', path: '/locations/-', value: { url: 'x' } }])).explanation,
    ).toMatch(/^Provided object does not match schema 'image': 'metadata' is a required property\n/);
    expect(() => parse([{ op: 'add', path: '/kernel_id', value: null }])).not.toThrow();
    expect(httpError(() => parse([{ op: 'add', path: '/foo', value: 5 }])).status).toBe(400);
  });
});

describe('applyPatch', () => {
  it('sets columns, properties and tags', () => {
    const rec = image({ properties: { foo: 'a', gone: 'x' }, tags: ['t'] });
    const changes = apply(rec, [
      { op: 'replace', path: '/name', value: 'new' },
      { op: 'replace', path: '/min_ram', value: 512 },
      { op: 'add', path: '/bar', value: 'b' },
      { op: 'replace', path: '/foo', value: 'a2' },
      { op: 'remove', path: '/gone' },
      { op: 'replace', path: '/tags', value: ['x', 'x', 'y'] },
    ]);
    expect(changes).toEqual({
      columns: { name: 'new', min_ram: 512 },
      setProperties: { foo: 'a2', bar: 'b' },
      removeProperties: ['gone'],
      tags: ['x', 'y'],
      locations: [],
    });
  });

  it('lets v2.1 add overwrite but makes v2.0 add of an existing property a 409', () => {
    const rec = image({ properties: { foo: 'a' } });
    expect(apply(rec, [{ op: 'add', path: '/foo', value: 'b' }]).setProperties).toEqual({ foo: 'b' });
    expect(apply(rec, [{ op: 'add', path: '/name', value: 'b' }]).columns).toEqual({ name: 'b' });
    for (const path of ['/foo', '/name']) {
      const err = httpError(() => apply(rec, [{ add: path, value: 'b' }], { contentType: V20 }));
      expect([err.status, err.detail]).toEqual([409, `Property ${path.slice(1)} already present.`]);
    }
  });

  it('answers replace or remove of a missing property with 409, and remove of an attribute with 403', () => {
    const rec = image();
    const missing = httpError(() => apply(rec, [{ op: 'replace', path: '/bar', value: 'b' }]));
    expect([missing.status, missing.detail]).toEqual([409, 'Property bar does not exist.']);
    expect(httpError(() => apply(rec, [{ op: 'remove', path: '/bar' }])).status).toBe(409);
    for (const root of ['name', 'tags']) {
      const err = httpError(() => apply(rec, [{ op: 'remove', path: `/${root}` }]));
      expect([err.status, err.detail]).toEqual([403, `Property ${root} may not be removed.`]);
    }
  });

  it('does not mistake built-in object keys for existing properties', () => {
    const err = httpError(() => apply(image(), [{ op: 'replace', path: '/constructor', value: 'x' }]));
    expect([err.status, err.detail]).toEqual([409, 'Property constructor does not exist.']);
    expect(apply(image(), [{ add: '/__proto__', value: 'x' }], { contentType: V20 }).setProperties).toEqual(
      JSON.parse('{"__proto__": "x"}'),
    );
  });

  it('lets only admins change the owner', () => {
    const err = httpError(() => apply(image(), [{ op: 'replace', path: '/owner', value: 'p2' }]));
    expect([err.status, err.detail]).toEqual([403, "Owner can't be updated by non admin."]);
    expect(apply(image(), [{ op: 'replace', path: '/owner', value: 'p2' }], { ctx: admin }).columns).toEqual({
      owner: 'p2',
    });
  });

  it('changes formats only while the image is queued or importing', () => {
    expect(apply(image(), [{ op: 'replace', path: '/disk_format', value: 'raw' }]).columns).toEqual({
      disk_format: 'raw',
    });
    const err = httpError(() =>
      apply(image({ status: 'active' }), [{ op: 'replace', path: '/disk_format', value: 'qcow2' }]),
    );
    expect([err.status, err.explanation]).toEqual([
      403,
      'Attribute disk_format can be only replaced for a queued image.',
    ]);
  });

  it('applies the domain and database limits', () => {
    expect(errorText(httpError(() => apply(image(), [{ op: 'replace', path: '/min_ram', value: -5 }])))).toBe(
      "Invalid value '-5' for parameter 'min_ram': Cannot be a negative value",
    );
    expect(
      errorText(httpError(() => apply(image(), [{ op: 'replace', path: '/name', value: 'n\u{1F600}' }]))),
    ).toBe("Name can't contain 4 byte unicode characters.");
    const tags = httpError(() =>
      applyPatch(image(), parse([{ op: 'replace', path: '/tags', value: ['a', 'b'] }]), owner, {
        config: { ...config, imageTagQuota: 1 },
        authorize: () => {},
      }),
    );
    expect(tags.status).toBe(413);
  });

  it('counts properties against the quota only when the patch adds one', () => {
    const rec = image({ properties: { a: '1', b: '2' } });
    const opts = { config: { ...config, imagePropertyQuota: 1 }, authorize: () => {} };
    expect(() =>
      applyPatch(rec, parse([{ op: 'replace', path: '/a', value: '3' }]), owner, opts),
    ).not.toThrow();
    const err = httpError(() => applyPatch(rec, parse([{ op: 'add', path: '/c', value: '3' }]), owner, opts));
    expect([err.status, err.explanation]).toEqual([
      413,
      'The limit has been exceeded on the number of allowed image properties. Attempted: 3, Maximum: 1',
    ]);
  });

  it('asks policy before each operation, in order', () => {
    const checks: PatchAuthorization[] = [];
    const rec = image({ status: 'active', locations: [loc(1, 'file:///a'), loc(2, 'file:///b')] });
    applyPatch(
      rec,
      parse([
        { op: 'replace', path: '/visibility', value: 'public' },
        { op: 'remove', path: '/locations/0' },
      ]),
      owner,
      { config: locationsOn, authorize: (c) => checks.push(c) },
    );
    expect(checks).toEqual([
      { action: 'update_property', name: 'visibility', value: 'public' },
      { action: 'delete_image_location' },
    ]);
    const deny = () => {
      throw new HttpError(403, 'You do not own this image');
    };
    // Policy speaks before the property is even looked up.
    expect(
      httpError(() =>
        applyPatch(rec, parse([{ op: 'remove', path: '/nope' }]), owner, { config, authorize: deny }),
      ).explanation,
    ).toBe('You do not own this image');
  });
});

function loc(id: number, url: string, metadata: Record<string, unknown> = {}) {
  return { id, url, metadata, status: 'active' as const };
}

describe('applyPatch on locations', () => {
  it('is refused while locations are hidden', () => {
    const ops = parse([{ op: 'add', path: '/locations/-', value: { url: 'http://h/x', metadata: {} } }]);
    const err = httpError(() => applyPatch(image(), ops, owner, { config, authorize: () => {} }));
    expect([err.status, err.explanation]).toEqual([
      403,
      "It's not allowed to add locations if locations are invisible.",
    ]);
  });

  it('refuses to set an empty list', () => {
    const err = httpError(() => apply(image(), [{ op: 'replace', path: '/locations', value: [] }]));
    expect([err.status, err.detail]).toEqual([403, 'Cannot set locations to empty list.']);
  });

  it('activates a queued image with the validation data of its first location', () => {
    const value = {
      url: 'http://h/x',
      metadata: {},
      validation_data: { os_hash_algo: 'sha512', os_hash_value: SHA512_OF_HELLO },
    };
    const changes = apply(image(), [{ op: 'add', path: '/locations/-', value }]);
    expect(changes.locations).toEqual([
      {
        op: 'add',
        position: 0,
        location: { url: 'http://h/x', metadata: {} },
        validationData: { os_hash_algo: 'sha512', os_hash_value: SHA512_OF_HELLO },
        activate: true,
      },
    ]);
  });

  it('needs both formats before a queued image can become active', () => {
    const rec = image({ disk_format: null, container_format: null });
    const err = httpError(() =>
      apply(rec, [{ op: 'add', path: '/locations/-', value: { url: 'http://h/x', metadata: {} } }]),
    );
    expect([err.status, err.explanation]).toEqual([
      400,
      'Properties disk_format, container_format must be set prior to saving data.',
    ]);
  });

  it.each([
    [{ os_hash_algo: 'sha256', os_hash_value: 'ab' }, 'os_hash_algo must be sha512, not sha256'],
    [{ os_hash_algo: 'sha512', os_hash_value: 'zz' }, 'os_hash_value (zz) is not a valid hexadecimal value'],
    [
      { os_hash_algo: 'sha512', os_hash_value: 'abcd' },
      'os_hash_value (abcd) is not the correct size for sha512 (should be 64 bytes)',
    ],
    [
      { checksum: 'x'.repeat(32), os_hash_algo: 'sha512', os_hash_value: SHA512_OF_HELLO },
      `checksum (${'x'.repeat(32)}) is not a valid hexadecimal value`,
    ],
  ])('refuses bad validation data %j with 409', (validation_data, message) => {
    const value = { url: 'http://h/x', metadata: {}, validation_data };
    const err = httpError(() => apply(image(), [{ op: 'add', path: '/locations/-', value }]));
    expect([err.status, err.explanation]).toEqual([409, message]);
  });

  it('accepts validation data on an active image only when it matches', () => {
    const rec = image({
      status: 'active',
      os_hash_algo: 'sha512',
      os_hash_value: SHA512_OF_HELLO,
      locations: [loc(1, 'file:///a')],
    });
    const same = { os_hash_algo: 'sha512', os_hash_value: SHA512_OF_HELLO };
    const changes = apply(rec, [
      { op: 'add', path: '/locations/0', value: { url: 'http://h/x', metadata: {}, validation_data: same } },
    ]);
    expect(changes.locations[0]).toMatchObject({
      op: 'add',
      position: 0,
      validationData: {},
      activate: false,
    });
    const other = { os_hash_algo: 'sha512', os_hash_value: 'ab'.repeat(64) };
    const err = httpError(() =>
      apply(rec, [
        {
          op: 'add',
          path: '/locations/-',
          value: { url: 'http://h/y', metadata: {}, validation_data: other },
        },
      ]),
    );
    expect([err.status, err.explanation]).toEqual([
      409,
      'os_hash_value is already set with a different value',
    ]);
  });

  it('refuses duplicates, bad positions and images in other states', () => {
    const rec = image({ status: 'active', locations: [loc(1, 'file:///a')] });
    const dup = httpError(() =>
      apply(rec, [{ op: 'add', path: '/locations/-', value: { url: 'file:///a', metadata: {} } }]),
    );
    expect([dup.status, dup.explanation]).toEqual([400, 'The location file:///a already exists']);
    const pos = httpError(() =>
      apply(rec, [{ op: 'add', path: '/locations/x', value: { url: 'file:///b', metadata: {} } }]),
    );
    expect([pos.status, pos.explanation]).toEqual([400, 'Invalid position for adding a location.']);
    const saving = httpError(() =>
      apply(image({ status: 'saving' }), [
        { op: 'add', path: '/locations/-', value: { url: 'file:///b', metadata: {} } },
      ]),
    );
    expect([saving.status, saving.explanation]).toEqual([
      409,
      "It's not allowed to add locations if image status is saving.",
    ]);
  });

  it('enforces image_location_quota', () => {
    const rec = image({ status: 'active', locations: [loc(1, 'file:///a')] });
    const ops = parse([{ op: 'add', path: '/locations/-', value: { url: 'file:///b', metadata: {} } }]);
    const err = httpError(() =>
      applyPatch(rec, ops, owner, { config: { ...locationsOn, imageLocationQuota: 1 }, authorize: () => {} }),
    );
    expect([err.status, err.explanation]).toEqual([
      413,
      'The limit has been exceeded on the number of allowed image locations. Attempted: 2, Maximum: 1',
    ]);
  });

  it('removes a location by position but never the last one', () => {
    const a = loc(1, 'file:///a');
    const b = loc(2, 'file:///b');
    const rec = image({
      status: 'active',
      locations: [a, b, { ...loc(3, 'file:///c'), status: 'pending_delete' }],
    });
    expect(apply(rec, [{ op: 'remove', path: '/locations/-' }]).locations).toEqual([
      { op: 'remove', position: 1, location: b },
    ]);
    const bad = httpError(() => apply(rec, [{ op: 'remove', path: '/locations/2' }]));
    expect([bad.status, bad.explanation]).toEqual([400, 'Invalid position for removing a location.']);
    const last = httpError(() =>
      apply(image({ status: 'active', locations: [a] }), [{ op: 'remove', path: '/locations/0' }]),
    );
    expect([last.status, last.detail]).toEqual([403, 'Cannot remove last location in the image.']);
    const queued = httpError(() =>
      apply(image({ locations: [a, b] }), [{ op: 'remove', path: '/locations/0' }]),
    );
    expect([queued.status, queued.explanation]).toEqual([
      409,
      "It's not allowed to remove locations if image status is queued.",
    ]);
  });

  it('replaces only metadata of existing locations', () => {
    const rec = image({ status: 'active', locations: [loc(1, 'file:///a', { k: 1 })] });
    const changes = apply(rec, [
      { op: 'replace', path: '/locations', value: [{ url: 'file:///a', metadata: { k: 2 } }] },
    ]);
    expect(changes.locations).toEqual([
      {
        op: 'replace',
        locations: [{ url: 'file:///a', metadata: { k: 2 } }],
        urlsChanged: false,
        validationData: {},
        activate: false,
      },
    ]);
    const err = httpError(() =>
      apply(rec, [{ op: 'replace', path: '/locations', value: [{ url: 'file:///b', metadata: {} }] }]),
    );
    expect([err.status, err.explanation]).toEqual([
      400,
      "Original locations is not empty: [{'id': 1, 'url': 'file:///a', 'metadata': {'k': 1}, 'status': 'active'}]",
    ]);
  });
});
