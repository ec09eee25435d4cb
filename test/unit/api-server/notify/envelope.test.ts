import {
  buildMessage,
  encodeBody,
  osloTimestamp,
  PUBLISH_OPTIONS,
  routingKey,
} from '../../../../api-server/src/notify/envelope.js';
import { imagePayload } from '../../../../api-server/src/notify/payloads.js';
import { pyJsonDumps } from '../../../../api-server/src/notify/py-json.js';

// Captured from upstream Glance 25 on the stack (image.create of an image named "probé" with a property
// foo=bär), with the message, unique id and timestamp that upstream chose.
const UPSTREAM_BODY =
  '{"oslo.version": "2.0", "oslo.message": "{\\"message_id\\": \\"c1abd11f-6a25-419a-987a-287771bee050\\", ' +
  '\\"publisher_id\\": \\"image.localhost\\", \\"event_type\\": \\"image.create\\", \\"priority\\": \\"INFO\\", ' +
  '\\"payload\\": {\\"id\\": \\"ed6b64d1-adcc-4b62-8f2a-67213d50047e\\", \\"name\\": \\"prob\\\\u00e9\\", ' +
  '\\"status\\": \\"queued\\", \\"created_at\\": \\"2026-12-07T18:30:45Z\\", \\"updated_at\\": ' +
  '\\"2026-12-07T18:30:45Z\\", \\"min_disk\\": 0, \\"min_ram\\": 0, \\"protected\\": false, \\"checksum\\": null, ' +
  '\\"owner\\": \\"8eca1ee895d24572aa8c470bd991cfab\\", \\"disk_format\\": \\"raw\\", \\"container_format\\": ' +
  '\\"bare\\", \\"size\\": null, \\"virtual_size\\": null, \\"is_public\\": false, \\"visibility\\": \\"shared\\", ' +
  '\\"properties\\": {\\"foo\\": \\"b\\\\u00e4r\\"}, \\"tags\\": [\\"t1\\"], \\"deleted\\": false, ' +
  '\\"deleted_at\\": null}, \\"timestamp\\": \\"2026-12-07 18:30:45.278988\\", \\"_unique_id\\": ' +
  '\\"69a8562aa43d438b8f0862d83891ebd0\\"}"}';

const created = new Date('2026-12-07T18:30:45.123Z');
const image = {
  id: 'ed6b64d1-adcc-4b62-8f2a-67213d50047e',
  name: 'probé',
  status: 'queued',
  created_at: created,
  updated_at: created,
  min_disk: 0,
  min_ram: 0,
  protected: false,
  checksum: null,
  owner: '8eca1ee895d24572aa8c470bd991cfab',
  disk_format: 'raw',
  container_format: 'bare',
  size: null,
  virtual_size: null,
  visibility: 'shared',
  extra_properties: { foo: 'bär' },
  tags: ['t1'],
};

describe('oslo.messaging envelope', () => {
  test('messagingv2 body is byte for byte what upstream sends', () => {
    const micros = Date.parse('2026-12-07T18:30:45Z') * 1000 + 278988;
    const message = {
      ...buildMessage('image.localhost', 'image.create', 'INFO', imagePayload(image), micros),
      message_id: 'c1abd11f-6a25-419a-987a-287771bee050',
    };
    const body = encodeBody(message, 2, '69a8562aa43d438b8f0862d83891ebd0');
    expect(body.toString('utf8')).toBe(UPSTREAM_BODY);
  });

  test('messaging (v1) sends the message dict bare', () => {
    const message = buildMessage('image.localhost', 'task.run', 'WARN', { a: 1 }, 1_000_000);
    const parsed = JSON.parse(encodeBody(message, 1, 'u').toString()) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual([
      'message_id',
      'publisher_id',
      'event_type',
      'priority',
      'payload',
      'timestamp',
      '_unique_id',
    ]);
    expect(parsed).toMatchObject({
      priority: 'WARN',
      payload: { a: 1 },
      timestamp: '1970-01-01 00:00:01',
      _unique_id: 'u',
    });
  });

  test('ids: message_id a uuid4, _unique_id its hex form and new for every body', () => {
    const message = buildMessage('p', 'e', 'INFO', null);
    expect(message.message_id).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    const unique = (b: Buffer) =>
      (
        JSON.parse(String((JSON.parse(b.toString()) as Record<string, unknown>)['oslo.message'])) as {
          _unique_id: string;
        }
      )._unique_id;
    const a = unique(encodeBody(message, 2));
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(unique(encodeBody(message, 2))).not.toBe(a);
  });

  test('timestamps as str(datetime): microseconds, none when they are zero', () => {
    expect(osloTimestamp(1_765_132_245_000_001)).toBe('2025-12-07 18:30:45.000001');
    expect(osloTimestamp(1_765_132_245_000_000)).toBe('2025-12-07 18:30:45');
    expect(buildMessage('p', 'e', 'INFO', null).timestamp).toMatch(
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?$/,
    );
  });

  test('routing key is <topic>.<priority in lower case>', () => {
    expect(routingKey('notifications', 'INFO')).toBe('notifications.info');
    expect(routingKey('notifications', 'ERROR')).toBe('notifications.error');
  });

  test('publish properties as kombu sets them', () => {
    expect(PUBLISH_OPTIONS).toEqual({
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      deliveryMode: 2,
      priority: 0,
      headers: {},
    });
  });
});

describe("Python's json.dumps", () => {
  test('separators, ensure_ascii, escapes', () => {
    expect(pyJsonDumps({ a: [1, 'x', null, true], b: {}, c: [] })).toBe(
      '{"a": [1, "x", null, true], "b": {}, "c": []}',
    );
    expect(pyJsonDumps('é\u2028😀"\\\n\t\u0001\u007f')).toBe(
      '"\\u00e9\\u2028\\ud83d\\ude00\\"\\\\\\n\\t\\u0001\\u007f"',
    );
    expect(pyJsonDumps({ skip: undefined, keep: 0 })).toBe('{"keep": 0}');
    expect(pyJsonDumps([1.5, -0.25, 1e-7, 1e21])).toBe('[1.5, -0.25, 1e-07, 1e+21]');
    expect(pyJsonDumps([NaN, Infinity, -Infinity])).toBe('[NaN, Infinity, -Infinity]');
    expect(pyJsonDumps({ clé: 'x' })).toBe('{"cl\\u00e9": "x"}');
  });
});
