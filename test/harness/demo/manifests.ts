import type { KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';

/** What the samples need from the local stack instead of their CHANGE-ME placeholders and example hosts. */
export interface DemoSettings {
  namespace: string;
  /** Where the local runner serves the API Service: every Keystone endpoint of the demo points there. */
  apiUrl: string;
  /** A region of its own, so the stack's RegionOne/RegionTwo registrations of `glance` are never touched. */
  region: string;
  db: { host: string; port: number; adminUser: string; adminPassword: string };
  keystone: { authUrl: string; adminUser: string; adminPassword: string };
  ceph: { monHost: string; adminKeyring: string };
  image: { url: string; checksum: string };
}

type Obj = KubernetesObject & { metadata: { name: string }; spec?: Record<string, unknown> };

export function parseSample(text: string): Obj[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

const inNamespace = <T extends Obj>(o: T, namespace: string): T => ({
  ...o,
  metadata: { ...o.metadata, namespace },
});

function secretData(name: string, s: DemoSettings): Record<string, string> {
  switch (name) {
    case 'db-admin':
      return { username: s.db.adminUser, password: s.db.adminPassword };
    case 'keystone-admin':
      return { username: s.keystone.adminUser, password: s.keystone.adminPassword };
    case 'ceph-admin':
      return { keyring: s.ceph.adminKeyring };
    default:
      throw new Error(`samples/glanceservice.yaml: no stack credentials for Secret ${name}`);
  }
}

/**
 * samples/glanceservice.yaml made to run on the local stack: the Secrets get the stack's admin credentials, and
 * the GlanceService the stack's addresses and names of its own (database, Keystone user/service/region, Ceph
 * pool/user), so that it never takes over what the stack's own Glance uses.
 */
export function demoGlanceService(sample: Obj[], s: DemoSettings): Obj[] {
  return sample.map((o) => {
    if (o.kind === 'Secret') {
      return inNamespace({ ...o, stringData: secretData(o.metadata.name, s) } as Obj, s.namespace);
    }
    if (o.kind !== 'GlanceService') return inNamespace(o, s.namespace);
    const spec = o.spec ?? {};
    const section = (key: string) => (spec[key] ?? {}) as Record<string, unknown>;
    return inNamespace(
      {
        ...o,
        spec: {
          ...spec,
          // The local runner runs this repository's build whatever the image says.
          image: 'glance-operator:demo',
          replicas: 1,
          endpoints: { public: s.apiUrl, internal: s.apiUrl, admin: s.apiUrl },
          database: {
            ...section('database'),
            host: s.db.host,
            port: s.db.port,
            name: 'glance_demo',
            user: 'glance_demo',
          },
          keystone: {
            ...section('keystone'),
            authUrl: s.keystone.authUrl,
            region: s.region,
            userName: 'glance-demo',
            serviceName: 'glance-demo',
          },
          ceph: {
            ...section('ceph'),
            monHost: s.ceph.monHost,
            pool: 'images-demo',
            user: 'glance-demo',
            pgNum: 8,
          },
        },
      },
      s.namespace,
    );
  });
}

/** samples/image.yaml with its source moved from the CirrOS server to the demo's local one. */
export function demoImage(sample: Obj[], s: DemoSettings): Obj[] {
  return sample.map((o) => {
    if (o.kind !== 'Image') return inNamespace(o, s.namespace);
    const source = { ...((o.spec?.source ?? {}) as Record<string, unknown>) };
    delete source.checksumURL;
    return inNamespace(
      { ...o, spec: { ...o.spec, source: { ...source, url: s.image.url, checksum: s.image.checksum } } },
      s.namespace,
    );
  });
}
