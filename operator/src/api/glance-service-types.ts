import type { V1ObjectMeta } from '@kubernetes/client-node';
import { z } from 'zod';
import { parseSpecWith } from './parse-spec.js';

/**
 * The GlanceService API, defined once: the zod schemas below validate a spec at reconcile time and generate
 * the CRD's structural schema (crds/, `npm run gen:crds`), so the two cannot disagree. Rules that span fields
 * live in refinements, which the CRD cannot express: the operator reports them as Stalled/InvalidSpec.
 */
export const GROUP = 'glance.stackops.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const GLANCE_SERVICE_KIND = 'GlanceService';
export const GLANCE_SERVICE_PLURAL = 'glanceservices';
export const GLANCE_SERVICE_SINGULAR = 'glanceservice';
export const GLANCE_SERVICE_SHORT_NAMES = ['gls'];
export const GLANCE_SERVICE = {
  group: GROUP,
  version: VERSION,
  plural: GLANCE_SERVICE_PLURAL,
  kind: GLANCE_SERVICE_KIND,
} as const;

/**
 * The label a Secret must carry, with value "true", for the operator to read it (runtime/secrets.ts): a
 * resource's author may name any Secret of its namespace, and the operator reads only those meant for it.
 */
export const OPERATOR_ACCESS_LABEL = `${GROUP}/operator-access`;
/** Said in the CRD of every field naming a Secret. */
/** The app.kubernetes.io/managed-by of everything the operator creates. */
export const MANAGED_BY = 'glance-operator';

/**
 * Whether a Secret holds credentials the operator generated for a GlanceService (its database and Keystone
 * passwords). Those are used only on that GlanceService's behalf, never sent where an Image's author points.
 */
export function isGeneratedCredentials(labels: Record<string, string> | undefined): boolean {
  return (
    labels?.['app.kubernetes.io/managed-by'] === MANAGED_BY &&
    labels['app.kubernetes.io/component'] === 'credentials'
  );
}

export const SECRET_ACCESS_NOTE = `The operator reads the Secret only if it is labelled ${OPERATOR_ACCESS_LABEL}: "true".`;

/**
 * The Secret (key `password`) the operator generates a GlanceService's Keystone password into when
 * `keystone.passwordSecretRef` is not set; Images targeting the GlanceService read it.
 */
export const keystonePasswordSecretName = (glanceService: string) => `${glanceService}-keystone-password`;
export const GENERATED_PASSWORD_KEY = 'password';
/** The port of a GlanceService's API pods and Service. */
export const API_PORT = 9292;
/** The API Service the operator creates for a GlanceService. */
export const apiServiceName = (glanceService: string) => `${glanceService}-api`;
/** That Service's cluster URL: the default of every Keystone endpoint, and the operator's own to reach. */
export const apiServiceUrl = (glanceService: string, namespace: string) =>
  `http://${apiServiceName(glanceService)}.${namespace}.svc:${API_PORT}`;

/**
 * What `adopt` means in each block. The operator marks what it creates in each system with the GlanceService's UID
 * (glance-service/ownership.ts) and deletes only what carries that mark.
 */
export const ADOPT_NOTE =
  'Without adopt, an existing object this GlanceService did not create is refused (Stalled, reason NotOwned). ' +
  'With adopt, it is used as it is and never deleted, except one left by an earlier GlanceService of the same ' +
  "namespace and name (deletionPolicy Retain), which is taken back and marked as this one's.";

// Names end up in SQL, Ceph caps and CLI arguments: restrict them to characters that need no quoting there.
const k8sName = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
const secretKey = z
  .string()
  .max(253)
  .regex(/^[-._a-zA-Z0-9]+$/);
const plainName = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[A-Za-z0-9_.-]+$/);
const httpUrl = z.string().regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, 'must be an http(s) URL');
const quantity = z.string().regex(/^[+]?[0-9.]+([eE][-+]?[0-9]+|[numkKMGTPE]i?)?$/, 'must be a quantity');
const iniName = z.string().regex(/^[A-Za-z0-9_.-]+$/);

const credentialsRef = z
  .object({
    name: k8sName.describe('Secret in the GlanceService namespace.'),
    usernameKey: secretKey.default('username'),
    passwordKey: secretKey.default('password'),
  })
  .describe(`Admin credentials the operator uses; they never reach the API pods. ${SECRET_ACCESS_NOTE}`);

const passwordRef = z
  .object({ name: k8sName, key: secretKey.default('password') })
  .describe(`A password to use instead of a generated one; changing it is applied. ${SECRET_ACCESS_NOTE}`);

export const databaseSpec = z.object({
  host: z.string().min(1).max(253).describe('MariaDB/MySQL host, reached by the operator and the API pods.'),
  port: z.number().int().min(1).max(65535).default(3306),
  name: z
    .string()
    .max(64)
    .regex(/^[A-Za-z0-9_]+$/)
    .default('glance'),
  user: z
    .string()
    .max(80)
    .regex(/^[A-Za-z0-9_]+$/)
    .default('glance')
    .describe("Created for 'localhost' and '%' with ALL PRIVILEGES on the database."),
  adminSecretRef: credentialsRef,
  passwordSecretRef: passwordRef.optional(),
  adopt: z
    .boolean()
    .default(false)
    .describe(
      'Use a database and users of these names that this GlanceService did not create. ' + ADOPT_NOTE,
    ),
});

export const keystoneSpec = z.object({
  authUrl: httpUrl.describe(
    'Identity v3 URL, e.g. http://keystone:5000/v3, used by the operator and the API.',
  ),
  wwwAuthenticateUri: httpUrl.optional().describe('Public identity URL for clients; default authUrl.'),
  region: plainName(255).default('RegionOne'),
  adminSecretRef: credentialsRef,
  adminProjectName: plainName(64).default('admin'),
  adminUserDomainName: plainName(64).default('Default'),
  adminProjectDomainName: plainName(64).default('Default'),
  serviceDomainName: plainName(64).default('Default').describe('Domain of the service project and user.'),
  projectName: plainName(64).default('service'),
  userName: plainName(255).default('glance'),
  serviceName: plainName(255).default('glance'),
  serviceDescription: z.string().max(255).default('OpenStack Image'),
  passwordSecretRef: passwordRef.optional(),
  adopt: z
    .boolean()
    .default(false)
    .describe(
      'Use a Keystone user, service and endpoints of these names that this GlanceService did not create. ' +
        ADOPT_NOTE,
    ),
});

export const cephSpec = z.object({
  monHost: z
    .string()
    .regex(/^[^\r\n]+$/)
    .describe("ceph.conf's mon_host, e.g. [v2:10.0.0.1:3300,v1:10.0.0.1:6789]."),
  adminSecretRef: z
    .object({
      name: k8sName,
      keyringKey: secretKey.default('keyring').describe('Key holding the admin keyring file.'),
    })
    .describe(`The Secret holding the Ceph admin keyring. ${SECRET_ACCESS_NOTE}`),
  adminUser: plainName(64).default('admin').describe('cephx id of the admin key (client.<adminUser>).'),
  pool: plainName(128).default('images'),
  pgNum: z
    .number()
    .int()
    .min(1)
    .max(32768)
    .optional()
    .describe("Default: the cluster's osd_pool_default_pg_num."),
  user: plainName(64).default('glance').describe('cephx id for the API (client.<user>).'),
  adopt: z
    .boolean()
    .default(false)
    .describe(
      'Use a Ceph pool and user of these names that this GlanceService did not create. ' + ADOPT_NOTE,
    ),
});

// Options whose values carry credentials the operator takes from Secrets: never written in a custom resource.
const FROM_SECRETS: readonly (readonly [string, string])[] = [
  ['database', 'connection'],
  ['keystone_authtoken', 'password'],
  ['DEFAULT', 'transport_url'],
  ['oslo_messaging_notifications', 'transport_url'],
];

export const STORE_BACKENDS = ['file', 'rbd'] as const;
export type StoreBackend = (typeof STORE_BACKENDS)[number];

export const storeSpec = z.object({
  backends: z.array(z.enum(STORE_BACKENDS)).min(1).max(2).default(['file']),
  default: z.enum(STORE_BACKENDS).optional().describe('Default: the first backend.'),
  file: z
    .object({
      size: quantity.default('10Gi'),
      storageClassName: z.string().max(253).optional(),
      accessMode: z.enum(['ReadWriteOnce', 'ReadWriteMany']).default('ReadWriteOnce'),
    })
    .prefault({})
    .describe('The PersistentVolumeClaim holding the file store.'),
});

/**
 * The groups of Glance's notifications (glance/notifier.py); an entry of disabledNotifications is a group or one
 * event type in it, e.g. image.upload, image.member.create, metadef_tag.delete_all.
 */
export const NOTIFICATION_GROUPS = [
  'image',
  'image.member',
  'task',
  'metadef_namespace',
  'metadef_object',
  'metadef_property',
  'metadef_resource_type',
  'metadef_tag',
] as const;
const notificationPattern = new RegExp(
  `^(${NOTIFICATION_GROUPS.map((g) => g.replace('.', '\\.')).join('|')})(\\.[a-z][a-z_]*)?$`,
);

export const notificationsSpec = z
  .object({
    transportUrlSecretRef: z
      .object({ name: k8sName, key: secretKey.default('transport_url') })
      .describe(
        'Secret holding the RabbitMQ transport URL, rabbit://user:password@host:5672/vhost (several hosts: ' +
          "comma-separated user:password@host:port); it goes into the API pods' config Secret only.",
      ),
    driver: z
      .enum(['messagingv2', 'messaging'])
      .default('messagingv2')
      .describe('messagingv2 sends the oslo.messaging 2.0 envelope, messaging the 1.0 one.'),
    topics: z
      .array(
        z
          .string()
          .min(1)
          .max(200)
          .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be dot-separated words of [A-Za-z0-9_-]'),
      )
      .min(1)
      .max(16)
      .default(['notifications'])
      .describe('Topics published to: the routing keys are <topic>.<priority> on exchange glance.'),
    disabledNotifications: z
      .array(
        z
          .string()
          .max(100)
          .regex(
            notificationPattern,
            `must be a group (${NOTIFICATION_GROUPS.join(', ')}) or an event type in one`,
          )
          // Glance takes a group to be the text before the first dot, so image.member matches no event.
          .refine((entry) => entry !== 'image.member', {
            message:
              'disables nothing (Glance reads the group as "image"): list the image.member.* event types',
          }),
      )
      .max(64)
      .default([])
      .describe('Event types (image.upload) or groups (image, task, metadef_tag...) not to send.'),
  })
  .describe('oslo.messaging notifications to RabbitMQ; without this block the API sends none (driver noop).');

export const glanceServiceSpec = z
  .object({
    image: z.string().min(1).describe('Container image of the Glance API server.'),
    imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).optional(),
    replicas: z.number().int().min(0).max(32).default(1),
    resources: z
      .object({
        requests: z.record(z.string(), quantity).optional(),
        limits: z.record(z.string(), quantity).optional(),
      })
      .optional(),
    deletionPolicy: z
      .enum(['Retain', 'Delete'])
      .default('Retain')
      .describe(
        'On delete, Keystone registration is always removed; Delete also drops the database, its users, ' +
          'the Ceph user and pool, and the file-store claim.',
      ),
    extraConfig: z
      .record(iniName, z.record(iniName, z.string().regex(/^[^\r\n]*$/)))
      .default({})
      .describe(
        'glance-api.conf settings by section, applied over the rendered ones; not the options the operator ' +
          'renders from Secrets (database connection, keystone_authtoken password, transport_url).',
      ),
    endpoints: z
      .object({ public: httpUrl.optional(), internal: httpUrl.optional(), admin: httpUrl.optional() })
      .prefault({})
      .describe("Keystone endpoint URLs; each defaults to the API Service's cluster URL."),
    database: databaseSpec,
    keystone: keystoneSpec,
    ceph: cephSpec.optional(),
    store: storeSpec.prefault({}),
    notifications: notificationsSpec.optional(),
  })
  .superRefine((spec, ctx) => {
    for (const [section, key] of FROM_SECRETS) {
      if (spec.extraConfig[section]?.[key] !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['extraConfig', section, key],
          message:
            'holds a credential, which anyone who may read this resource could read: the operator renders it ' +
            'from the Secret the spec names (database, keystone, notifications.transportUrlSecretRef)',
        });
      }
    }
    const { backends } = spec.store;
    const n = spec.notifications;
    for (const [field, list] of [
      ['topics', n?.topics ?? []],
      ['disabledNotifications', n?.disabledNotifications ?? []],
    ] as const) {
      if (new Set(list).size !== list.length) {
        ctx.addIssue({ code: 'custom', path: ['notifications', field], message: 'lists an entry twice' });
      }
    }
    if (new Set(backends).size !== backends.length) {
      ctx.addIssue({ code: 'custom', path: ['store', 'backends'], message: 'lists a backend twice' });
    }
    if (spec.store.default && !backends.includes(spec.store.default)) {
      ctx.addIssue({ code: 'custom', path: ['store', 'default'], message: 'must be one of store.backends' });
    }
    if (backends.includes('rbd') && !spec.ceph) {
      ctx.addIssue({ code: 'custom', path: ['ceph'], message: 'is required when store.backends has rbd' });
    }
    if (backends.includes('file') && spec.replicas > 1 && spec.store.file.accessMode !== 'ReadWriteMany') {
      ctx.addIssue({
        code: 'custom',
        path: ['store', 'file', 'accessMode'],
        message: 'must be ReadWriteMany when several replicas share the file store',
      });
    }
  });

export type GlanceServiceSpec = z.output<typeof glanceServiceSpec>;

export const conditionSchema = z.object({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string(),
  message: z.string(),
  observedGeneration: z.number().int().optional(),
  lastTransitionTime: z.string(),
});

export const glanceServiceStatus = z.object({
  observedGeneration: z.number().int().optional(),
  conditions: z.array(conditionSchema).optional(),
  serviceId: z.string().optional().describe('Keystone service ID.'),
  endpoints: z
    .object({ public: z.string().optional(), internal: z.string().optional(), admin: z.string().optional() })
    .optional(),
  configHash: z.string().optional().describe('Hash of the rendered configuration the Deployment runs.'),
  readyReplicas: z.number().int().optional(),
});

export type GlanceServiceStatus = z.output<typeof glanceServiceStatus>;

/** The object as read from the API server: only its spec is validated (at reconcile time). */
export interface GlanceService {
  apiVersion: typeof API_VERSION;
  kind: typeof GLANCE_SERVICE_KIND;
  // Read through CustomObjectsApi, so timestamps are the API server's strings, not Dates.
  metadata: V1ObjectMeta & { name: string; namespace: string; uid: string };
  spec?: unknown;
  status?: GlanceServiceStatus;
}

/** The validated spec, or a message naming each offending field for the InvalidSpec condition. */
export function parseGlanceServiceSpec(raw: unknown): { spec: GlanceServiceSpec } | { error: string } {
  return parseSpecWith(glanceServiceSpec, raw);
}
