import { readFileSync } from 'node:fs';
import type { KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';

/** Names of what a GlanceService creates outside Kubernetes; each run that must not share them picks its own. */
export interface ExternalNames {
  /** Database and its user. */
  database: string;
  /** Keystone user and service. */
  keystone: string;
  cephPool: string;
  cephUser: string;
}

const DEMO_NAMES: ExternalNames = {
  database: 'glance_demo',
  keystone: 'glance-demo',
  cephPool: 'images-demo',
  cephUser: 'glance-demo',
};

/** What samples/glanceservice.yaml needs from the local stack instead of its CHANGE-ME placeholders and hosts. */
export interface ServiceSettings {
  namespace: string;
  /** The API's public endpoint as users of this machine reach it (a NodePort); inside the cluster the operator and
   * other pods use the Service's own URL, the internal and admin endpoints' default. */
  apiUrl: string;
  /** The container image of the API pods (this repository's, built by the stack). */
  containerImage: string;
  /** A region of its own, so the stack's RegionOne/RegionTwo registrations of `glance` are never touched. */
  region: string;
  db: { host: string; port: number; adminUser: string; adminPassword: string };
  keystone: { authUrl: string; adminUser: string; adminPassword: string };
  ceph: { monHost: string; adminKeyring: string };
  /** Default: the demo's (glance_demo, glance-demo, images-demo). */
  names?: ExternalNames;
  /** Default: the sample's (Retain). */
  deletionPolicy?: 'Retain' | 'Delete';
}

/** The GlanceService settings and samples/image.yaml's source moved to a local server. */
export interface DemoSettings extends ServiceSettings {
  image: { url: string; checksum: string };
}

/** The monitors of a ceph.conf, as a GlanceService's spec.ceph.monHost wants them. */
export function monHost(cephConf: string): string {
  const m = /^\s*mon[_ ]host\s*=\s*(.+)$/m.exec(readFileSync(cephConf, 'utf8'));
  if (!m?.[1]) throw new Error(`${cephConf} has no mon_host`);
  return m[1].trim();
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

function secretData(name: string, s: ServiceSettings): Record<string, string> {
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
 * pool/user), so that it never takes over what the stack's own Glance uses. Each run's GlanceService adopts what
 * the last run retained (deletionPolicy Retain): the same namespace and name take it back as their own.
 */
export function demoGlanceService(sample: Obj[], s: ServiceSettings): Obj[] {
  const names = s.names ?? DEMO_NAMES;
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
          ...(s.deletionPolicy ? { deletionPolicy: s.deletionPolicy } : {}),
          image: s.containerImage,
          // Imported into the node's containerd: there is no registry to pull from.
          imagePullPolicy: 'Never',
          replicas: 1,
          endpoints: { public: s.apiUrl },
          database: {
            ...section('database'),
            host: s.db.host,
            port: s.db.port,
            name: names.database,
            user: names.database,
            adopt: true,
          },
          keystone: {
            ...section('keystone'),
            authUrl: s.keystone.authUrl,
            region: s.region,
            userName: names.keystone,
            serviceName: names.keystone,
            adopt: true,
          },
          ceph: {
            ...section('ceph'),
            monHost: s.ceph.monHost,
            pool: names.cephPool,
            user: names.cephUser,
            pgNum: 8,
            adopt: true,
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
