import { parseCreateBody, type CreateTarget } from '../../../../api-server/src/domain/create.js';
import type { DomainContext } from '../../../../api-server/src/domain/types.js';
import { HttpError } from '../../../../api-server/src/http/errors.js';
import { config, errorText, httpError } from './helpers.js';

const member: DomainContext = { projectId: 'p1', isAdmin: false };
const admin: DomainContext = { projectId: 'adminproject', isAdmin: true };
const allow = () => {};

function create(body: unknown, ctx = member, authorize: (t: CreateTarget) => void = allow) {
  return parseCreateBody(body, ctx, { config, authorize });
}

describe('parseCreateBody', () => {
  it('fills in upstream defaults: shared, owned by the caller, nothing protected or hidden', () => {
    const changes = create({ name: 'cirros', disk_format: 'qcow2', container_format: 'bare' });
    expect(changes.columns).toEqual({
      name: 'cirros',
      disk_format: 'qcow2',
      container_format: 'bare',
      visibility: 'shared',
      min_disk: 0,
      min_ram: 0,
      protected: false,
      os_hidden: false,
      owner: 'p1',
    });
    expect(changes.id).toBeUndefined();
    expect(changes.tags).toEqual([]);
    expect(changes.setProperties).toEqual({});
  });

  it('keeps the requested id, tags (once each) and extra properties', () => {
    const changes = create({
      id: 'a8b1c2d3-0000-4000-8000-000000000000',
      tags: ['x', 'x', 'y'],
      os_distro: 'cirros',
      ramdisk_id: null,
    });
    expect(changes.id).toBe('a8b1c2d3-0000-4000-8000-000000000000');
    expect(changes.tags).toEqual(['x', 'y']);
    expect(changes.setProperties).toEqual({ os_distro: 'cirros', ramdisk_id: null });
  });

  it('stores os_hash_algo given on create as an extra property, as upstream does (hidden behind the column)', () => {
    expect(create({ os_hash_algo: 'md5' }).setProperties).toEqual({ os_hash_algo: 'md5' });
  });

  it.each(['self', 'file', 'schema', 'direct_url', 'stores'])(
    'refuses the link attribute %s as read-only',
    (key) => {
      const err = httpError(() => create({ [key]: 'x' }));
      expect([err.status, err.explanation]).toEqual([403, `Attribute '${key}' is read-only.`]);
    },
  );

  it.each(['size', 'status', 'checksum', 'created_at', 'updated_at', 'virtual_size'])(
    'refuses the read-only %s after the owner checks',
    (key) => {
      const value = { size: 5, virtual_size: 5, status: 'queued' }[key] ?? 'x';
      const err = httpError(() => create({ [key]: value }));
      expect([err.status, err.explanation]).toEqual([403, `Attribute '${key}' is read-only.`]);
    },
  );

  it('reports reserved names in the detail, as upstream raises HTTPForbidden(msg)', () => {
    for (const key of ['location', 'deleted', 'deleted_at', 'os_glance_import_task']) {
      const err = httpError(() => create({ [key]: 'x' }));
      expect([err.status, err.detail]).toEqual([403, `Attribute '${key}' is reserved.`]);
    }
    const locations = httpError(() => create({ locations: [] }));
    expect([locations.status, locations.explanation]).toEqual([403, "Attribute 'locations' is reserved."]);
  });

  it('refuses custom property names longer than 255 characters', () => {
    const err = httpError(() => create({ ['k'.repeat(256)]: 'v' }));
    expect([err.status, err.explanation]).toEqual([
      400,
      'Custom property should not be greater than 255 characters.',
    ]);
    expect(() => create({ ['k'.repeat(255)]: 'v' })).not.toThrow();
  });

  it('answers schema violations with the text python-jsonschema gives upstream', () => {
    // Both fields are wrong; jsonschema prefers the value whose very type is wrong.
    const err = httpError(() => create({ disk_format: 'foo', min_ram: 'x' }));
    expect(err.status).toBe(400);
    expect(err.explanation).toBe(
      "Provided object does not match schema 'image': 'x' is not of type 'integer'\n\n" +
        "Failed validating 'type' in schema['properties']['min_ram']:\n" +
        "    {'description': 'Amount of ram (in MB) required to boot image.',\n" +
        "     'type': 'integer'}\n\n" +
        "On instance['min_ram']:\n" +
        "    'x'",
    );
  });

  it('validates formats against the configured lists', () => {
    const err = httpError(() => create({ container_format: 'bar' }));
    expect(err.explanation).toBe(
      "Provided object does not match schema 'image': 'bar' is not one of [None, 'ami', 'ari', 'aki', 'bare', " +
        "'ovf', 'ova', 'docker', 'compressed']\n\n" +
        "Failed validating 'enum' in schema['properties']['container_format']:\n" +
        "    {'description': 'Format of the container',\n" +
        "     'enum': [None,\n" +
        "              'ami',\n" +
        "              'ari',\n" +
        "              'aki',\n" +
        "              'bare',\n" +
        "              'ovf',\n" +
        "              'ova',\n" +
        "              'docker',\n" +
        "              'compressed'],\n" +
        "     'type': ['null', 'string']}\n\n" +
        "On instance['container_format']:\n" +
        "    'bar'",
    );
  });

  it('requires extra properties to be strings and an id to be a UUID', () => {
    expect(httpError(() => create({ foo: 5 })).explanation).toBe(
      "Provided object does not match schema 'image': 5 is not of type 'string'\n\n" +
        "Failed validating 'type' in schema['additionalProperties']:\n" +
        "    {'type': 'string'}\n\n" +
        "On instance['foo']:\n" +
        '    5',
    );
    expect(httpError(() => create({ id: 'nope' })).explanation).toMatch(
      /^Provided object does not match schema 'image': 'nope' does not match '\^/,
    );
  });

  it('checks tags item by item', () => {
    expect(httpError(() => create({ tags: ['a', 5] })).explanation).toBe(
      "Provided object does not match schema 'image': 5 is not of type 'string'\n\n" +
        "Failed validating 'type' in schema['properties']['tags']['items']:\n" +
        "    {'maxLength': 255, 'type': 'string'}\n\n" +
        "On instance['tags'][1]:\n" +
        '    5',
    );
  });

  it('lets only admins create images for another project', () => {
    const err = httpError(() => create({ owner: 'p2' }));
    expect([err.status, err.explanation]).toEqual([
      403,
      "You are not permitted to create images owned by 'p2'.",
    ]);
    expect(httpError(() => create({ owner: null })).explanation).toBe(
      "You are not permitted to create images owned by 'None'.",
    );
    expect(create({ owner: 'p2' }, admin).columns.owner).toBe('p2');
    // The database stores an empty owner as NULL.
    expect(create({ owner: '' }, admin).columns.owner).toBeNull();
    // With secure RBAC the policy alone decides.
    expect(
      parseCreateBody({ owner: 'p2' }, member, {
        config: { ...config, enforceSecureRbac: true },
        authorize: allow,
      }).columns.owner,
    ).toBe('p2');
  });

  it("asks policy with upstream's target, before the factory's checks", () => {
    const targets: CreateTarget[] = [];
    create({ visibility: 'public' }, member, (t) => targets.push(t));
    create({}, member, (t) => targets.push(t));
    expect(targets).toEqual([
      { owner: 'p1', visibility: 'public' },
      { owner: 'p1', visibility: 'private' },
    ]);
    const denied = () => {
      throw new HttpError(403, 'You are not authorized to complete publicize_image action.');
    };
    // A read-only key is only noticed after policy has spoken.
    expect(httpError(() => create({ visibility: 'public', size: 1 }, member, denied)).explanation).toBe(
      'You are not authorized to complete publicize_image action.',
    );
  });

  it('refuses negative and out-of-range minimums like the domain model and the database do', () => {
    expect(errorText(httpError(() => create({ min_ram: -1 })))).toBe(
      "Invalid value '-1' for parameter 'min_ram': Cannot be a negative value",
    );
    expect(errorText(httpError(() => create({ min_disk: 2 ** 31 })))).toBe(
      "'min_disk' value out of range, must not exceed 2147483647.",
    );
  });

  it('refuses 4-byte characters, which the MySQL schema cannot store', () => {
    expect(errorText(httpError(() => create({ name: 'a \u{1F600}' })))).toBe(
      "Name can't contain 4 byte unicode characters.",
    );
    expect(errorText(httpError(() => create({ os_distro: '\u{1F600}' })))).toBe(
      "Os_Distro can't contain 4 byte unicode characters.",
    );
    expect(errorText(httpError(() => create({ '\u{1F600}': 'x' })))).toBe(
      "Property names can't contain 4 byte unicode.",
    );
    expect(errorText(httpError(() => create({ tags: ['\u{1F600}'] })))).toBe(
      "Param values can't contain 4 byte unicode.",
    );
    expect(create({ name: 'é ü' }).columns.name).toBe('é ü');
  });

  it('enforces the tag and property quotas with 413', () => {
    const small = { ...config, imageTagQuota: 2, imagePropertyQuota: 1 };
    const tags = httpError(() =>
      parseCreateBody({ tags: ['a', 'a', 'b'] }, member, { config: small, authorize: allow }),
    );
    expect([tags.status, tags.explanation]).toEqual([
      413,
      'The limit has been exceeded on the number of allowed image tags. Attempted: 3, Maximum: 2',
    ]);
    const props = httpError(() =>
      parseCreateBody({ a: '1', b: '2' }, member, { config: small, authorize: allow }),
    );
    expect([props.status, props.explanation]).toEqual([
      413,
      'The limit has been exceeded on the number of allowed image properties. Attempted: 2, Maximum: 1',
    ]);
  });

  it('treats keys such as constructor and __proto__ as ordinary properties', () => {
    const body = JSON.parse('{"constructor": "c", "__proto__": "p"}') as unknown;
    expect({ ...create(body).setProperties }).toEqual(JSON.parse('{"constructor": "c", "__proto__": "p"}'));
    expect(httpError(() => create({ constructor: 5 })).status).toBe(400);
  });

  it('needs a JSON object', () => {
    expect(httpError(() => create([])).status).toBe(400);
    expect(httpError(() => create('x')).status).toBe(400);
  });
});
