import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { CRD_FILE, glanceServiceCrd } from '../../../../operator/src/api/glance-service-crd.js';
import { parseGlanceServiceSpec } from '../../../../operator/src/api/glance-service-types.js';
import { toStructuralSchema, type StructuralSchema } from '../../../../operator/src/api/structural-schema.js';
import { z } from 'zod';

const minimal = {
  image: 'registry.example/glance-api:1',
  database: { host: 'db', adminSecretRef: { name: 'db-admin' } },
  keystone: { authUrl: 'http://keystone:5000/v3', adminSecretRef: { name: 'ks-admin' } },
};

function walk(node: StructuralSchema, path: string, visit: (n: StructuralSchema, p: string) => void): void {
  visit(node, path);
  for (const [k, v] of Object.entries(node.properties ?? {})) walk(v, `${path}.${k}`, visit);
  if (node.items) walk(node.items, `${path}[]`, visit);
  if (node.additionalProperties) walk(node.additionalProperties, `${path}.*`, visit);
}

describe('GlanceService CRD', () => {
  it(`is what ${CRD_FILE} holds (run \`npm run gen:crds\` after changing operator/src/api/)`, () => {
    const onDisk: unknown = parse(readFileSync(new URL(`../../../../${CRD_FILE}`, import.meta.url), 'utf8'));
    expect(onDisk).toEqual(glanceServiceCrd());
  });

  it('has a structural schema: every node typed, no additionalProperties: false', () => {
    const version = glanceServiceCrd().spec.versions[0];
    const schema = version?.schema.openAPIV3Schema as unknown as StructuralSchema;
    const untyped: string[] = [];
    walk(schema, '', (n, p) => {
      if (!n.type) untyped.push(p);
      expect(n.additionalProperties as unknown).not.toBe(false);
    });
    expect(untyped).toEqual([]);
    expect(version?.subresources).toEqual({ status: {} });
  });

  it('carries the defaults the operator applies, so kubectl shows what will happen', () => {
    const spec = glanceServiceCrd().spec.versions[0]?.schema.openAPIV3Schema.properties
      .spec as StructuralSchema;
    expect(spec.properties?.deletionPolicy?.default).toBe('Retain');
    expect(spec.properties?.keystone?.properties?.region?.default).toBe('RegionOne');
    expect(spec.properties?.ceph?.properties?.pool?.default).toBe('images');
    expect(spec.required).toEqual(expect.arrayContaining(['image', 'database', 'keystone']));
  });

  it('refuses a schema construct the API server would not accept', () => {
    expect(() => toStructuralSchema(z.object({ a: z.union([z.string(), z.number()]) }))).toThrow(/a/);
  });
});

describe('GlanceService spec validation', () => {
  it('fills in the install guide defaults', () => {
    const parsed = parseGlanceServiceSpec(minimal);
    if ('error' in parsed) throw new Error(parsed.error);
    expect(parsed.spec).toMatchObject({
      replicas: 1,
      deletionPolicy: 'Retain',
      database: { port: 3306, name: 'glance', user: 'glance', adminSecretRef: { usernameKey: 'username' } },
      keystone: { region: 'RegionOne', projectName: 'service', userName: 'glance', serviceName: 'glance' },
      store: { backends: ['file'], file: { size: '10Gi', accessMode: 'ReadWriteOnce' } },
      endpoints: {},
      extraConfig: {},
    });
    expect(parsed.spec.notifications).toBeUndefined();
  });

  it("fills in the install guide's notification settings from a Secret name alone", () => {
    const parsed = parseGlanceServiceSpec({
      ...minimal,
      notifications: { transportUrlSecretRef: { name: 'mq' } },
    });
    if ('error' in parsed) throw new Error(parsed.error);
    expect(parsed.spec.notifications).toEqual({
      transportUrlSecretRef: { name: 'mq', key: 'transport_url' },
      driver: 'messagingv2',
      topics: ['notifications'],
      disabledNotifications: [],
    });
  });

  const withNotifications = (extra: object) => ({
    ...minimal,
    notifications: { transportUrlSecretRef: { name: 'mq' }, ...extra },
  });

  it.each([
    [{ ...minimal, store: { backends: ['rbd'] } }, 'spec.ceph: is required when store.backends has rbd'],
    [
      { ...minimal, store: { backends: ['file'], default: 'rbd' } },
      'spec.store.default: must be one of store.backends',
    ],
    [{ ...minimal, replicas: 2 }, 'spec.store.file.accessMode: must be ReadWriteMany'],
    [{ ...minimal, database: { ...minimal.database, name: 'glance; DROP' } }, 'spec.database.name'],
    [
      { ...minimal, keystone: { ...minimal.keystone, authUrl: 'keystone:5000' } },
      'spec.keystone.authUrl: must be an http(s) URL',
    ],
    [
      { ...minimal, extraConfig: { DEFAULT: { debug: 'true\n[database]' } } },
      'spec.extraConfig.DEFAULT.debug',
    ],
    [
      { ...minimal, extraConfig: { DEFAULT: { transport_url: 'rabbit://u:p@mq:5672/' } } },
      'spec.extraConfig.DEFAULT.transport_url: holds a credential',
    ],
    [
      { ...minimal, extraConfig: { database: { connection: 'mysql+pymysql://glance:p@db/glance' } } },
      'spec.extraConfig.database.connection: holds a credential',
    ],
    [{ ...minimal, image: undefined }, 'spec.image'],
    [{ ...minimal, notifications: {} }, 'spec.notifications.transportUrlSecretRef'],
    [withNotifications({ driver: 'log' }), 'spec.notifications.driver'],
    [withNotifications({ topics: [] }), 'spec.notifications.topics'],
    [withNotifications({ topics: ['a,b'] }), 'spec.notifications.topics.0: must be dot-separated words'],
    [withNotifications({ topics: ['n', 'n'] }), 'spec.notifications.topics: lists an entry twice'],
    [
      withNotifications({ disabledNotifications: ['image.upload', 'images'] }),
      'spec.notifications.disabledNotifications.1: must be a group (image, image.member, task',
    ],
    [
      withNotifications({ disabledNotifications: ['image.member'] }),
      'spec.notifications.disabledNotifications.0: disables nothing',
    ],
    [
      withNotifications({ disabledNotifications: ['task', 'task'] }),
      'spec.notifications.disabledNotifications: lists an entry twice',
    ],
  ])('names the offending field: %#', (spec, message) => {
    const parsed = parseGlanceServiceSpec(spec);
    expect('error' in parsed && parsed.error).toContain(message);
  });
});
