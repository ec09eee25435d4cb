import {
  namespaceModel,
  objectModel,
  prefixProperties,
  propertiesModel,
  propertyModel,
} from '../../../../api-server/src/domain/metadef-represent.js';
import {
  NAMESPACE,
  METADEF_OBJECT,
  PROPERTY_TYPE,
  toJson,
  type WsObject,
} from '../../../../api-server/src/domain/metadef-wsme.js';
import { pythonJson } from '../../../../api-server/src/domain/python-json.js';

const created = new Date('2026-11-22T03:59:34.000Z');

const namespace = {
  id: 7,
  namespace: 'OS::Compute::Test',
  display_name: null,
  description: 'd',
  visibility: 'public',
  protected: true,
  owner: 'admin',
  created_at: created,
  updated_at: null,
};

describe('metadef representations', () => {
  test('a namespace: declared order, None left out, isotime timestamps, links', () => {
    expect(pythonJson(toJson(NAMESPACE, namespaceModel(namespace)), false)).toBe(
      '{"namespace": "OS::Compute::Test", "description": "d", "visibility": "public", "protected": true, ' +
        '"owner": "admin", "created_at": "2026-11-22T03:59:34Z", "self": "/v2/metadefs/namespaces/OS::Compute::Test", ' +
        '"schema": "/v2/schemas/metadefs/namespace"}',
    );
  });

  test('an object as loaded (no required column) shows "required": [] and its properties re-ordered by WSME', () => {
    const model = objectModel(
      {
        id: 1,
        name: 'o',
        description: null,
        required: null,
        json_schema: '{"x": {"title": "X", "type": "boolean", "default": false, "readonly": true}}',
        created_at: created,
        updated_at: null,
      },
      'os::compute::test',
    );
    expect(pythonJson(toJson(METADEF_OBJECT, model), false)).toBe(
      '{"name": "o", "required": [], "properties": {"x": {"type": "boolean", "title": "X", "default": "False", ' +
        '"readonly": true}}, "created_at": "2026-11-22T03:59:34Z", ' +
        '"self": "/v2/metadefs/namespaces/os::compute::test/objects/o", "schema": "/v2/schemas/metadefs/object"}',
    );
  });

  test('a property shows its row name first; in a namespace listing only a stored name appears', () => {
    const row = {
      id: 1,
      name: 'p',
      json_schema: '{"title": "P", "type": "string"}',
      created_at: created,
      updated_at: null,
    };
    expect(Object.keys(toJson(PROPERTY_TYPE, propertyModel(row)) as object)).toEqual([
      'name',
      'type',
      'title',
    ]);
    expect(propertiesModel([row])).toEqual({ p: { title: 'P', type: 'string' } });
  });

  test("prefixing with a resource type adds the association's prefix to property and required names", () => {
    const associations: WsObject[] = [
      { name: 'OS::Glance::Image', prefix: 'hw_' },
      { name: 'OS::Nova::Flavor' },
    ];
    const detail: WsObject = {
      ...namespaceModel(namespace),
      resource_type_associations: associations,
      properties: { a: { title: 'A', type: 'string' } },
      objects: [{ name: 'o', required: ['x'], properties: { x: { title: 'X', type: 'string' } } }],
    };
    prefixProperties(detail, 'OS::Glance::Image');
    expect(Object.keys(detail.properties as WsObject)).toEqual(['hw_a']);
    expect((detail.objects as WsObject[])[0]).toMatchObject({
      required: ['hw_x'],
      properties: { hw_x: { title: 'X' } },
    });
    const unprefixed: WsObject = {
      ...namespaceModel(namespace),
      resource_type_associations: associations,
      properties: { a: { title: 'A', type: 'string' } },
    };
    prefixProperties(unprefixed, 'OS::Nova::Flavor');
    expect(Object.keys(unprefixed.properties as WsObject)).toEqual(['a']);
  });
});
