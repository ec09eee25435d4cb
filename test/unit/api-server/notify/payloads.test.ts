import { compareEventSequences } from '../../../../api-server/src/notify/compare-events.js';
import { enabledFilter } from '../../../../api-server/src/notify/disabled.js';
import {
  imageDataPayload,
  imageDeletePayload,
  imagePayload,
  imageSendNotification,
  imageUploadFailurePayload,
  memberDeletePayload,
  memberPayload,
  namespaceDeletePayload,
  namespacePayload,
  objectDeletePayload,
  objectPayload,
  propertyPayload,
  resourceTypeDeletePayload,
  resourceTypePayload,
  tagDeletePayload,
  tagPayload,
  taskPayload,
} from '../../../../api-server/src/notify/payloads.js';

const t0 = new Date('2026-12-07T18:30:45.678Z');
const image = {
  id: 'ed6b64d1-adcc-4b62-8f2a-67213d50047e',
  name: 'probé',
  status: 'active',
  created_at: t0,
  updated_at: t0,
  min_disk: 0,
  min_ram: 5,
  protected: false,
  checksum: '7806c0bf75f9f9b46ba74ebb8aff2de4',
  owner: '8eca1ee895d24572aa8c470bd991cfab',
  disk_format: 'raw',
  container_format: 'bare',
  size: 100,
  virtual_size: 100,
  visibility: 'shared',
  extra_properties: { foo: 'bär' },
  tags: ['t1', 't2'],
};

// Payloads seen from upstream Glance 25 on the stack for the same image (values as captured).
const upstreamImage = {
  id: 'ed6b64d1-adcc-4b62-8f2a-67213d50047e',
  name: 'probé',
  status: 'active',
  created_at: '2026-12-07T18:30:45Z',
  updated_at: '2026-12-07T18:30:45Z',
  min_disk: 0,
  min_ram: 5,
  protected: false,
  checksum: '7806c0bf75f9f9b46ba74ebb8aff2de4',
  owner: '8eca1ee895d24572aa8c470bd991cfab',
  disk_format: 'raw',
  container_format: 'bare',
  size: 100,
  virtual_size: 100,
  is_public: false,
  visibility: 'shared',
  properties: { foo: 'bär' },
  tags: ['t1', 't2'],
  deleted: false,
  deleted_at: null,
};

describe('image payloads', () => {
  test('format_image_notification: same keys, order and values as upstream', () => {
    const payload = imagePayload(image);
    expect(payload).toEqual(upstreamImage);
    expect(Object.keys(payload)).toEqual(Object.keys(upstreamImage));
    expect(imagePayload({ ...image, visibility: 'public' })['is_public']).toBe(true);
  });

  test('image.prepare and image.upload add the import properties as lists, and the backend when named', () => {
    expect(imageDataPayload(image)).toEqual({
      ...upstreamImage,
      os_glance_importing_to_stores: [],
      os_glance_failed_import: [],
    });
    const importing = imageDataPayload(
      { ...image, extra_properties: { os_glance_importing_to_stores: 'a,b', os_glance_failed_import: 'c' } },
      'fast',
    );
    expect(importing).toMatchObject({
      os_glance_importing_to_stores: ['a', 'b'],
      os_glance_failed_import: ['c'],
      backend: 'fast',
    });
  });

  test('image.delete marks it deleted with the time', () => {
    expect(imageDeletePayload({ ...image, status: 'deleted' }, t0)).toEqual({
      ...upstreamImage,
      status: 'deleted',
      deleted: true,
      deleted_at: '2026-12-07T18:30:45Z',
    });
  });

  test('a missing updated_at is sent as now, as isotime(None)', () => {
    expect(imagePayload({ ...image, updated_at: null })['updated_at']).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    );
  });

  test('image.send: the shape upstream sends, ERROR when the download came out short', () => {
    const send = {
      imageId: image.id,
      ownerId: image.owner,
      receiverTenantId: 'p',
      receiverUserId: 'u',
      bytesSent: 100,
      expectedBytes: 100,
    };
    expect(imageSendNotification(send)).toEqual({
      priority: 'INFO',
      payload: {
        bytes_sent: 100,
        image_id: image.id,
        owner_id: image.owner,
        receiver_tenant_id: 'p',
        receiver_user_id: 'u',
      },
    });
    expect(imageSendNotification({ ...send, bytesSent: 10 }).priority).toBe('ERROR');
    expect(Object.keys(imageSendNotification({ ...send, destinationIp: '10.0.0.1' }).payload)).toContain(
      'destination_ip',
    );
  });

  test('a failed upload is a bare string', () => {
    expect(imageUploadFailurePayload('storage_full', 'i', 'no space')).toBe(
      'Image storage media is full: no space',
    );
    expect(imageUploadFailurePayload('bad_data', 'i', 'bad')).toBe('Cannot save data for image i: bad');
    expect(imageUploadFailurePayload('internal_error', 'i', 'x')).toBe(
      'Failed to upload image data for image i due to internal error: x',
    );
  });
});

describe('member and task payloads', () => {
  test('format_image_member_notification', () => {
    const member = { image_id: 'i', member_id: 'p', status: 'pending', created_at: t0, updated_at: t0 };
    expect(memberPayload(member)).toEqual({
      image_id: 'i',
      member_id: 'p',
      status: 'pending',
      created_at: '2026-12-07T18:30:45Z',
      updated_at: '2026-12-07T18:30:45Z',
      deleted: false,
      deleted_at: null,
    });
    expect(memberDeletePayload(member, t0)).toMatchObject({
      deleted: true,
      deleted_at: '2026-12-07T18:30:45Z',
    });
  });

  test('format_task_notification never carries input, result or message', () => {
    const task = {
      id: 't',
      type: 'api_image_import',
      status: 'pending',
      owner: 'o',
      expires_at: null,
      created_at: t0,
      updated_at: t0,
    };
    const payload = taskPayload(task);
    expect(Object.keys(payload)).toEqual([
      'id',
      'type',
      'status',
      'result',
      'owner',
      'message',
      'expires_at',
      'created_at',
      'updated_at',
      'deleted',
      'deleted_at',
    ]);
    expect(payload).toMatchObject({ result: null, message: null });
    expect(typeof payload['expires_at']).toBe('string');
  });
});

describe('metadef payloads', () => {
  const ns = {
    namespace: 'OS::Test',
    display_name: 'Test',
    protected: false,
    visibility: 'private',
    owner: 'o',
    description: null,
    created_at: t0,
    updated_at: null,
  };

  test('namespace, with the old name on update', () => {
    expect(namespacePayload(ns, 'OS::Old')).toMatchObject({
      namespace: 'OS::Test',
      namespace_old: 'OS::Old',
    });
    expect(Object.keys(namespacePayload(ns))).toEqual([
      'namespace',
      'namespace_old',
      'display_name',
      'protected',
      'visibility',
      'owner',
      'description',
      'created_at',
      'updated_at',
      'deleted',
      'deleted_at',
    ]);
    expect(namespaceDeletePayload(ns, t0)).toMatchObject({ deleted: true });
  });

  test("object properties list every schema key, false-y values as null (upstream's `or None`)", () => {
    const payload = objectPayload({
      namespace: 'OS::Test',
      name: 'obj',
      description: 'd',
      required: ['p1'],
      properties: { p1: { type: 'integer', title: 'P1', minimum: 0, maximum: 10, enum: [] } },
      created_at: t0,
      updated_at: t0,
    });
    const prop = (payload['properties'] as Record<string, unknown>[])[0]!;
    expect(prop).toMatchObject({
      name: 'p1',
      type: 'integer',
      title: 'P1',
      minimum: null,
      maximum: 10,
      enum: null,
      items: null,
    });
    expect(Object.keys(prop)).toHaveLength(17);
    expect(payload).toMatchObject({ name_old: 'obj', required: ['p1'] });
    expect(
      objectDeletePayload(
        {
          ...payload,
          namespace: 'n',
          name: 'obj',
          description: null,
          required: null,
          properties: null,
          created_at: t0,
          updated_at: t0,
        },
        t0,
      ),
    ).toMatchObject({ properties: [], required: null, deleted: true });
  });

  test('property keeps false-y schema values (schema.get), missing ones null', () => {
    const payload = propertyPayload(
      { namespace: 'n', name: 'p', schema: { type: 'boolean', default: false, minimum: 0 } },
      'old',
    );
    expect(payload).toMatchObject({
      name_old: 'old',
      type: 'boolean',
      default: false,
      minimum: 0,
      title: null,
    });
    expect(Object.keys(payload)).toHaveLength(21);
    expect('created_at' in payload).toBe(false);
  });

  test('resource type and tag', () => {
    const rt = {
      namespace: 'n',
      name: 'OS::Glance::Image',
      prefix: null,
      properties_target: 'image',
      created_at: t0,
      updated_at: t0,
    };
    expect(resourceTypePayload(rt)).toMatchObject({
      name_old: 'OS::Glance::Image',
      prefix: null,
      properties_target: 'image',
    });
    expect(resourceTypeDeletePayload(rt, t0)).toMatchObject({
      deleted: true,
      deleted_at: '2026-12-07T18:30:45Z',
    });
    expect(tagPayload({ namespace: 'n', name: 't', created_at: t0, updated_at: t0 }, 'o')).toEqual({
      namespace: 'n',
      name: 't',
      name_old: 'o',
      created_at: '2026-12-07T18:30:45Z',
      updated_at: '2026-12-07T18:30:45Z',
      deleted: false,
      deleted_at: null,
    });
    expect(tagDeletePayload({ namespace: 'n', name: 't', created_at: t0, updated_at: t0 })).toMatchObject({
      deleted: true,
    });
  });
});

describe('disabled_notifications', () => {
  test('a single event type or a group (the text before the first dot)', () => {
    const enabled = enabledFilter(['image.create', 'metadef_tag', 'task.run']);
    expect(enabled('image.create')).toBe(false);
    expect(enabled('image.update')).toBe(true);
    expect(enabled('metadef_tag.create')).toBe(false);
    expect(enabled('metadef_tags.create')).toBe(true);
    expect(enabled('task.run')).toBe(false);
    expect(enabled('task.success')).toBe(true);
  });

  test('"image" disables the member events too; "image.member" alone is no group upstream', () => {
    expect(enabledFilter(['image'])('image.member.create')).toBe(false);
    expect(enabledFilter(['image.member'])('image.member.create')).toBe(true);
    expect(enabledFilter([])('anything')).toBe(true);
  });
});

describe('comparing event sequences', () => {
  const upstream = [
    { event_type: 'image.create', payload: { id: 'a', size: null, tags: [] } },
    { event_type: 'image.upload', payload: 'Image storage media is full: x' },
  ];

  test('same types and payload shapes compare equal, whatever the values', () => {
    const ours = [
      { event_type: 'image.create', payload: { id: 'b', size: null, tags: ['x'] } },
      { event_type: 'image.upload', payload: 'other text' },
    ];
    expect(compareEventSequences(upstream, ours)).toEqual([]);
  });

  test('reports order, missing and extra keys, and type changes', () => {
    const ours = [
      { event_type: 'image.create', payload: { id: 1, tags: [], extra: true } },
      { event_type: 'image.update', payload: {} },
    ];
    expect(compareEventSequences(upstream, ours)).toEqual([
      'event types differ: expected [image.create, image.upload], got [image.create, image.update]',
      '#0 image.create: payload lacks "size"',
      '#0 image.create: payload has unexpected "extra"',
      '#0 image.create: "id" is number, expected string',
    ]);
  });

  test('loose keys may change type but not go missing', () => {
    const ours = [{ event_type: 'image.create', payload: { id: 'a', size: 4, tags: [] } }, upstream[1]!];
    expect(compareEventSequences(upstream, ours)).toEqual([
      '#0 image.create: "size" is number, expected null',
    ]);
    expect(compareEventSequences(upstream, ours, { looseKeys: ['size'] })).toEqual([]);
  });
});
