import type { NamespaceRecord, ObjectRecord } from '../../../../api-server/src/domain/metadef-types.js';
import type { PyJson } from '../../../../api-server/src/notify/index.js';
import { MetadefEvents } from '../../../../api-server/src/services/metadef-events.js';
import { recordingNotifier } from '../../../fakes/notifier.js';

// Every metadef payload is an object.
function recorder(disabled: string[] = []) {
  const { notifier, sent } = recordingNotifier(disabled);
  return { notifier, sent: sent as Array<{ eventType: string; payload: Record<string, PyJson> }> };
}

const t0 = new Date('2026-12-07T10:00:00Z');
const t1 = new Date('2026-12-07T10:00:01Z');

const ns: NamespaceRecord = {
  id: 7,
  namespace: 'OS::Compute::Cpu',
  display_name: 'CPU',
  description: null,
  visibility: 'public',
  protected: false,
  owner: 'p'.repeat(32),
  created_at: t0,
  updated_at: t1,
};

const stored: ObjectRecord = {
  id: 3,
  name: 'cpu',
  description: 'the CPU',
  required: 'mode,cores',
  json_schema: JSON.stringify({ mode: { type: 'string', title: 'Mode', enum: ['a', 'b'] } }),
  created_at: t0,
  updated_at: t1,
};

describe('MetadefEvents', () => {
  test('a namespace update carries the name before it; deleting its tags is delete_tags without deleted', () => {
    const { notifier, sent } = recorder();
    const events = new MetadefEvents(notifier);
    events.namespaceUpdated({ ...ns, namespace: 'OS::Compute::Cpu2' }, ns.namespace);
    events.namespaceContentDeleted(ns, 'tags');
    events.namespaceDeleted(ns);
    expect(sent.map((s) => s.eventType)).toEqual([
      'metadef_namespace.update',
      'metadef_namespace.delete_tags',
      'metadef_namespace.delete',
    ]);
    expect(sent[0]!.payload).toMatchObject({ namespace: 'OS::Compute::Cpu2', namespace_old: ns.namespace });
    expect(sent[1]!.payload).toMatchObject({ namespace: ns.namespace, deleted: false, deleted_at: null });
    expect(sent[2]!.payload).toMatchObject({ deleted: true });
    expect(typeof sent[2]!.payload.deleted_at).toBe('string');
  });

  test('an object from its request keeps what the body left out as null; a stored one lists required', () => {
    const { notifier, sent } = recorder();
    const events = new MetadefEvents(notifier);
    events.objectUpdated(ns.namespace, { name: 'cpu2', properties: {} }, stored);
    events.objectDeleted(ns.namespace, stored);
    expect(sent[0]!.payload).toMatchObject({
      namespace: ns.namespace,
      name: 'cpu2',
      name_old: 'cpu',
      properties: [],
      required: null,
      description: null,
      created_at: '2026-12-07T10:00:00Z',
    });
    expect(sent[1]!.payload).toMatchObject({
      name: 'cpu',
      name_old: 'cpu',
      required: ['mode', 'cores'],
      description: 'the CPU',
      deleted: true,
    });
    const [mode] = sent[1]!.payload.properties as Array<Record<string, PyJson>>;
    expect(mode).toMatchObject({
      name: 'mode',
      type: 'string',
      title: 'Mode',
      enum: ['a', 'b'],
      minimum: null,
    });
  });

  test('bulk tags are one metadef_tag.create each; a renamed tag names the old one', () => {
    const { notifier, sent } = recorder();
    const events = new MetadefEvents(notifier);
    events.tagsCreated(ns.namespace, [
      { name: 'a', created_at: t0, updated_at: t0 },
      { name: 'b', created_at: t0, updated_at: t0 },
    ]);
    events.tagUpdated(ns.namespace, 'c', { id: 1, name: 'a', created_at: t0, updated_at: t0 });
    expect(sent.map((s) => [s.eventType, s.payload.name, s.payload.name_old])).toEqual([
      ['metadef_tag.create', 'a', 'a'],
      ['metadef_tag.create', 'b', 'b'],
      ['metadef_tag.update', 'c', 'a'],
    ]);
  });

  test('properties and resource types carry the namespace by name; disabled events are not sent', () => {
    const { notifier, sent } = recorder(['metadef_property.create']);
    const events = new MetadefEvents(notifier);
    events.propertyCreated(ns.namespace, 'cores', { type: 'integer', title: 'Cores' });
    events.propertyDeleted(ns.namespace, {
      id: 2,
      name: 'cores',
      json_schema: JSON.stringify({ type: 'integer', title: 'Cores', minimum: 1 }),
      created_at: t0,
      updated_at: t0,
    });
    events.resourceTypeDissociated(ns.namespace, {
      resource_type_id: 1,
      name: 'OS::Glance::Image',
      prefix: 'hw_',
      properties_target: null,
      created_at: t0,
      updated_at: null,
    });
    expect(sent.map((s) => s.eventType)).toEqual(['metadef_property.delete', 'metadef_resource_type.delete']);
    expect(sent[0]!.payload).toMatchObject({
      namespace: ns.namespace,
      name: 'cores',
      minimum: 1,
      deleted: true,
    });
    expect(sent[1]!.payload).toMatchObject({
      namespace: ns.namespace,
      name: 'OS::Glance::Image',
      prefix: 'hw_',
      deleted: true,
    });
    expect(sent[1]!.payload).not.toHaveProperty('resource_type_id');
  });
});
