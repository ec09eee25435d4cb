import {
  formatImage,
  formatImages,
  formatMember,
  formatMembers,
  isoTime,
} from '../../../../api-server/src/domain/represent.js';
import type { DomainContext } from '../../../../api-server/src/domain/types.js';
import { config, image } from './helpers.js';

const owner: DomainContext = { projectId: 'p1', isAdmin: false };
const admin: DomainContext = { projectId: 'a', isAdmin: true };

const uploaded = image({
  id: '8d41e4e0-0432-4f31-8180-f8c664f0e0cf',
  name: 'dom-p1',
  disk_format: 'raw',
  status: 'active',
  size: 5,
  virtual_size: 5,
  checksum: '5d41402abc4b2a76b9719d911017c592',
  os_hash_algo: 'sha512',
  os_hash_value: 'ab'.repeat(64),
  owner: '51aebba3cd8e4614b37612b64bc3a0ac',
  created_at: new Date('2026-11-22T04:13:39.900Z'),
  updated_at: new Date('2026-11-22T04:13:40Z'),
  properties: { foo: 'b', bar: 'x' },
  tags: ['a'],
  locations: [
    { id: 7, url: 'file:///var/lib/glance/images/8d41', metadata: { store: 'fast' }, status: 'active' },
    { id: 8, url: 'file:///old', metadata: {}, status: 'pending_delete' },
  ],
});

describe('formatImage', () => {
  it('writes the same JSON as upstream, key order included', () => {
    // Captured from upstream glance-api (GET /v2/images/{id}) for an image with these values.
    const upstream =
      '{"foo":"b","bar":"x","name":"dom-p1","disk_format":"raw","container_format":"bare","visibility":"shared",' +
      '"size":5,"virtual_size":5,"status":"active","checksum":"5d41402abc4b2a76b9719d911017c592","protected":false,' +
      '"min_ram":0,"min_disk":0,"owner":"51aebba3cd8e4614b37612b64bc3a0ac","os_hidden":false,"os_hash_algo":"sha512",' +
      `"os_hash_value":"${'ab'.repeat(64)}","id":"8d41e4e0-0432-4f31-8180-f8c664f0e0cf",` +
      '"created_at":"2026-11-22T04:13:39Z","updated_at":"2026-11-22T04:13:40Z","tags":["a"],' +
      '"self":"/v2/images/8d41e4e0-0432-4f31-8180-f8c664f0e0cf",' +
      '"file":"/v2/images/8d41e4e0-0432-4f31-8180-f8c664f0e0cf/file","schema":"/v2/schemas/image"}';
    expect(JSON.stringify(formatImage(uploaded, config, owner))).toBe(upstream);
  });

  it('shows a null extra property as an empty string, but keeps null for schema-image.json ones', () => {
    const view = formatImage(image({ properties: { legacy: null, kernel_id: null } }), config, owner);
    expect(view.legacy).toBe('');
    expect(view.kernel_id).toBeNull();
  });

  it('never shows os_glance_stage_host', () => {
    const view = formatImage(
      image({ properties: { os_glance_stage_host: 'http://w1', os_glance_x: 'y' } }),
      config,
      owner,
    );
    expect(view).not.toHaveProperty('os_glance_stage_host');
    expect(view.os_glance_x).toBe('y');
  });

  it('drops extra properties when the schema does not allow them', () => {
    const view = formatImage(
      image({ properties: { foo: 'b' } }),
      { ...config, allowAdditionalImageProperties: false },
      owner,
    );
    expect(view).not.toHaveProperty('foo');
    expect(view.name).toBe('cirros');
  });

  it('shows active locations and direct_url only when configured', () => {
    expect(formatImage(uploaded, config, owner)).not.toHaveProperty('locations');
    expect(formatImage(uploaded, config, owner)).not.toHaveProperty('direct_url');
    const view = formatImage(
      uploaded,
      { ...config, showMultipleLocations: true, showImageDirectUrl: true },
      owner,
    );
    expect(view.locations).toEqual([
      { url: 'file:///var/lib/glance/images/8d41', metadata: { store: 'fast' } },
    ]);
    expect(view.direct_url).toBe('file:///var/lib/glance/images/8d41');
    const empty = formatImage(
      image(),
      { ...config, showMultipleLocations: true, showImageDirectUrl: true },
      owner,
    );
    expect(empty.locations).toEqual([]);
    expect(empty).not.toHaveProperty('direct_url');
  });

  it('hides the locations of a deactivated image from non-admins', () => {
    const cfg = { ...config, showMultipleLocations: true, showImageDirectUrl: true };
    const deactivated = { ...uploaded, status: 'deactivated' as const };
    expect(formatImage(deactivated, cfg, owner).locations).toEqual([]);
    expect(formatImage(deactivated, cfg, admin).locations).toHaveLength(1);
  });

  it('lists the stores holding the data in multistore mode', () => {
    expect(formatImage(uploaded, { ...config, enabledBackends: ['fast', 'cheap'] }, owner).stores).toBe(
      'fast',
    );
    expect(formatImage(image(), { ...config, enabledBackends: ['fast'] }, owner)).not.toHaveProperty(
      'stores',
    );
  });
});

describe('formatImages', () => {
  it('links the first page with the request query and the next one with a marker', () => {
    const query = new URLSearchParams('tag=a&tag=%20b%20&foo=bar&marker=old&name=x%20y&limit=1');
    const body = formatImages({ images: [uploaded], nextMarker: uploaded.id }, query, config, owner);
    expect(body.first).toBe('/v2/images?tag=+b+&foo=bar&name=x+y&limit=1');
    expect(body.next).toBe(`/v2/images?tag=+b+&foo=bar&name=x+y&limit=1&marker=${uploaded.id}`);
    expect(body.schema).toBe('/v2/schemas/images');
    expect(body.images).toHaveLength(1);
  });

  it('has no next link on the last page and a bare first link without a query', () => {
    const body = formatImages({ images: [], nextMarker: null }, {}, config, owner);
    expect(body).toEqual({ images: [], first: '/v2/images', schema: '/v2/schemas/images' });
  });

  it('quotes like urllib.parse.urlencode', () => {
    const body = formatImages(
      { images: [], nextMarker: null },
      { name: 'in:"a,b",c', created_at: 'gt:2020-01-01T10:00:00+02:00' },
      config,
      owner,
    );
    expect(body.first).toBe(
      '/v2/images?name=in%3A%22a%2Cb%22%2Cc&created_at=gt%3A2020-01-01T10%3A00%3A00%2B02%3A00',
    );
  });
});

describe('formatMember', () => {
  it('renders members the way upstream does', () => {
    const member = {
      image_id: uploaded.id,
      member: 'p2',
      status: 'pending' as const,
      can_share: false,
      created_at: new Date('2024-01-02T03:04:05.678Z'),
      updated_at: new Date('2024-01-02T03:04:06Z'),
    };
    const expected = {
      member_id: 'p2',
      image_id: uploaded.id,
      status: 'pending',
      created_at: '2024-01-02T03:04:05Z',
      updated_at: '2024-01-02T03:04:06Z',
      schema: '/v2/schemas/member',
    };
    expect(JSON.stringify(formatMember(member))).toBe(JSON.stringify(expected));
    expect(formatMembers([member])).toEqual({ members: [expected], schema: '/v2/schemas/members' });
  });
});

describe('isoTime', () => {
  it('drops fractions of a second', () => {
    expect(isoTime(new Date('1999-12-31T23:59:59.999Z'))).toBe('1999-12-31T23:59:59Z');
  });
});
