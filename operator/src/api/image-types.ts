import type { V1ObjectMeta } from '@kubernetes/client-node';
import { z } from 'zod';
import { conditionSchema, GROUP, SECRET_ACCESS_NOTE, VERSION } from './glance-service-types.js';
import { IMAGE_ATTRIBUTES } from '../../../api-server/src/domain/image-attributes.js';
import { parseSpecWith } from './parse-spec.js';

/**
 * The Image API, defined once in zod like the GlanceService: the spec is validated at reconcile time and the
 * CRD's structural schema is generated from it (`npm run gen:crds`). Rules across fields are also CEL rules in
 * the CRD (image-crd.ts), so that kubectl refuses them before the operator sees them.
 */
export const IMAGE_KIND = 'Image';
export const IMAGE_PLURAL = 'images';
export const IMAGE_SINGULAR = 'image';
export const IMAGE_SHORT_NAMES = ['gimg'];
export const IMAGE_API_VERSION = `${GROUP}/${VERSION}`;
export const IMAGE = { group: GROUP, version: VERSION, plural: IMAGE_PLURAL, kind: IMAGE_KIND } as const;

const k8sName = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
const secretKey = z
  .string()
  .max(253)
  .regex(/^[-._a-zA-Z0-9]+$/);
const httpUrl = z
  .string()
  .max(2048)
  .regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, 'must be an http(s) URL');

export const DISK_FORMATS = [
  'ami',
  'ari',
  'aki',
  'vhd',
  'vhdx',
  'vmdk',
  'raw',
  'qcow2',
  'vdi',
  'iso',
  'ploop',
] as const;
export type DiskFormat = (typeof DISK_FORMATS)[number];
export const CONTAINER_FORMATS = ['ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed'] as const;
export const COMPRESSIONS = ['gz', 'xz', 'zst', 'bz2'] as const;
export type Compression = (typeof COMPRESSIONS)[number];
const INTERFACES = ['public', 'internal', 'admin'] as const;

/**
 * Names Glance keeps for itself: a property of that name would be refused (or mean something else), so the
 * spec refuses it first. Server-owned `os_*` names other than os_hidden are left to Glance entirely.
 */
export const CORE_ATTRIBUTES: ReadonlySet<string> = IMAGE_ATTRIBUTES;

/**
 * The Glance property that marks an image the operator created for an Image: the Image's metadata.uid. It lets a
 * lost status find the image again, and only a marked image is deleted (besides one adopted under an explicit
 * deletionPolicy Delete). A spec cannot declare it.
 */
export const IMAGE_MARK_PROPERTY = 'glance_operator_image_uid';

export const CHECKSUM_PATTERN = /^(md5:[0-9a-f]{32}|sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;

const secretRef = z.object({ name: k8sName.describe('Secret in the Image namespace.') });

export const imageSource = z.object({
  url: httpUrl.describe('Where the image is downloaded from.'),
  checksum: z
    .string()
    .regex(CHECKSUM_PATTERN, 'must be md5:<hex>, sha256:<hex> or sha512:<hex> in lower case')
    .optional()
    .describe('Expected digest of the bytes at url (before decompression), checked while streaming.'),
  checksumURL: httpUrl
    .optional()
    .describe(
      'A checksum file (SHA256SUMS, MD5SUMS, ...) listing the file name of url; the algorithm follows the ' +
        'digest length.',
    ),
  decompress: z
    .enum(['auto', 'none', ...COMPRESSIONS])
    .default('auto')
    .describe('auto detects gz, xz, zst and bz2 from the magic bytes.'),
  headersSecretRef: secretRef
    .optional()
    .describe(`Every key of this Secret is sent as an HTTP header with its value. ${SECRET_ACCESS_NOTE}`),
  basicAuthSecretRef: z
    .object({
      name: k8sName,
      usernameKey: secretKey.default('username'),
      passwordKey: secretKey.default('password'),
    })
    .optional()
    .describe(`HTTP basic auth for the source, from this Secret. ${SECRET_ACCESS_NOTE}`),
  caBundleRef: z
    .object({ name: k8sName.describe('ConfigMap in the Image namespace.'), key: secretKey.default('ca.crt') })
    .optional()
    .describe('PEM certificates trusted for https sources (instead of the system ones).'),
  proxy: httpUrl.optional().describe('HTTP proxy for the download (CONNECT for https sources).'),
  importMethod: z
    .enum(['Auto', 'Upload', 'WebDownload'])
    .default('Auto')
    .describe(
      "Auto uses Glance's web-download import when nothing needs verifying (no checksum, decompress " +
        'none, no credentials, CA or proxy) and the service offers it, else streams through the operator.',
    ),
  retries: z
    .number()
    .int()
    .min(0)
    .max(100)
    .default(5)
    .describe('Reconnections within one transfer (resuming with HTTP Range); reset by progress.'),
});

export const imageSpec = z
  .object({
    glanceServiceRef: z
      .object({
        name: k8sName.describe('GlanceService in the Image namespace.'),
        interface: z.enum(INTERFACES).default('internal'),
      })
      .optional()
      .describe('Upload with the Keystone user the operator registered for this GlanceService.'),
    cloud: z
      .object({
        authUrl: httpUrl.describe('Keystone v3 URL, e.g. http://keystone:5000/v3.'),
        credentialsSecretRef: secretRef.describe(
          'Keys username, password, project; optional userDomain, projectDomain (default Default). ' +
            SECRET_ACCESS_NOTE,
        ),
        region: z.string().min(1).max(255).optional().describe('Default: the first image endpoint.'),
        interface: z.enum(INTERFACES).default('public'),
        imageUrl: httpUrl.optional().describe('Glance URL to use instead of the Keystone catalog.'),
      })
      .optional()
      .describe('Any Glance, reached through Keystone with the credentials in a Secret.'),
    name: z.string().min(1).max(255).optional().describe('Glance image name; default metadata.name.'),
    diskFormat: z.enum(DISK_FORMATS),
    containerFormat: z.enum(CONTAINER_FORMATS).default('bare'),
    visibility: z.enum(['public', 'private', 'shared', 'community']).default('private'),
    protected: z.boolean().default(false),
    osHidden: z.boolean().default(false),
    minDisk: z.number().int().min(0).default(0).describe('GiB.'),
    minRam: z.number().int().min(0).default(0).describe('MiB.'),
    tags: z.array(z.string().min(1).max(255)).max(128).default([]),
    properties: z
      .record(
        z
          .string()
          .min(1)
          .max(255)
          .regex(/^[A-Za-z0-9_:.-]+$/),
        z.string().max(65535),
      )
      .default({})
      .describe('Glance properties (os_distro, hw_disk_bus, ...); ones added by hand are removed.'),
    source: imageSource,
    deletionPolicy: z
      .enum(['Delete', 'Orphan'])
      .optional()
      .describe(
        'Delete removes the Glance images the operator created for this Image (marked with the property ' +
          `${IMAGE_MARK_PROPERTY}), and an adopted one only when set explicitly; Orphan leaves them. Default: ` +
          'Orphan when adopt is set, else Delete.',
      ),
    adopt: z
      .object({
        imageID: z
          .string()
          .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
          .optional(),
        byName: z.boolean().optional().describe('Take over the only image named like this one.'),
      })
      .optional()
      .describe(
        'Manage an existing image instead of creating one; its data is kept when active. It is never ' +
          'deleted unless deletionPolicy is Delete.',
      ),
  })
  .superRefine((spec, ctx) => {
    if (!spec.glanceServiceRef === !spec.cloud) {
      ctx.addIssue({ code: 'custom', path: [], message: 'set exactly one of glanceServiceRef and cloud' });
    }
    const s = spec.source;
    if (s.checksum && s.checksumURL) {
      ctx.addIssue({
        code: 'custom',
        path: ['source', 'checksumURL'],
        message: 'set checksum or checksumURL, not both',
      });
    }
    if (s.importMethod === 'WebDownload' && !canWebDownload(spec)) {
      ctx.addIssue({
        code: 'custom',
        path: ['source', 'importMethod'],
        message: 'WebDownload cannot verify a checksum, decompress, or use credentials, a CA or a proxy',
      });
    }
    if (spec.adopt && !spec.adopt.imageID === !spec.adopt.byName) {
      ctx.addIssue({ code: 'custom', path: ['adopt'], message: 'set exactly one of imageID and byName' });
    }
    for (const key of Object.keys(spec.properties)) {
      if (CORE_ATTRIBUTES.has(key) || key.startsWith('os_glance')) {
        ctx.addIssue({
          code: 'custom',
          path: ['properties', key],
          message: 'is reserved by Glance; use the spec field instead',
        });
      }
      if (key === IMAGE_MARK_PROPERTY) {
        ctx.addIssue({ code: 'custom', path: ['properties', key], message: 'is reserved by the operator' });
      }
    }
  });

export type ImageSpec = z.output<typeof imageSpec>;

/** What happens to the Glance images when the Image goes: an adopted image is kept unless Delete is set. */
export function deletionPolicyOf(spec: Pick<ImageSpec, 'deletionPolicy' | 'adopt'>): 'Delete' | 'Orphan' {
  return spec.deletionPolicy ?? (spec.adopt ? 'Orphan' : 'Delete');
}
export type ImageSourceSpec = ImageSpec['source'];

/** Whether Glance can fetch the source itself: nothing the operator would have to check or supply. */
export function canWebDownload(spec: Pick<ImageSpec, 'source'>): boolean {
  const s = spec.source;
  return (
    !s.checksum &&
    !s.checksumURL &&
    s.decompress === 'none' &&
    !s.headersSecretRef &&
    !s.basicAuthSecretRef &&
    !s.caBundleRef &&
    !s.proxy
  );
}

export const IMAGE_PHASES = [
  'Pending',
  'Waiting',
  'Uploading',
  'Importing',
  'Retrying',
  'Ready',
  'Failed',
  'Deleting',
] as const;
export type ImagePhase = (typeof IMAGE_PHASES)[number];

export const imageStatus = z.object({
  observedGeneration: z.number().int().optional(),
  conditions: z.array(conditionSchema).optional(),
  phase: z.enum(IMAGE_PHASES).optional(),
  imageID: z.string().optional(),
  pendingImageID: z
    .string()
    .optional()
    .describe(
      'The replacement a changed source is uploaded into; it becomes imageID once active, and until then ' +
        'imageID stays the image in use.',
    ),
  retiredImageID: z
    .string()
    .optional()
    .describe('The image a replacement took the place of, until it is deleted (deletionPolicy Delete).'),
  progress: z
    .object({
      bytes: z.number().int().describe('Bytes read from the source so far.'),
      total: z.number().int().optional().describe('Size of the source, when it says.'),
      percent: z.number().int().optional(),
    })
    .optional(),
  method: z.enum(['upload', 'web-download']).optional(),
  size: z.number().int().optional(),
  virtualSize: z.number().int().optional(),
  checksum: z.string().optional().describe("Glance's md5 of the stored data."),
  osHashAlgo: z.string().optional(),
  osHashValue: z.string().optional(),
  sourceDigest: z.string().optional().describe('The verified digest of the source, algo:hex.'),
  contentHash: z.string().optional().describe('Identity of the source the stored data came from.'),
  attempts: z.number().int().optional().describe('Transfers started for the current content.'),
  lastError: z.string().optional(),
  failedFor: z
    .string()
    .optional()
    .describe('The content and retry annotation a terminal transfer failure applies to.'),
});

export type ImageStatus = z.output<typeof imageStatus>;

export interface ImageObject {
  apiVersion: typeof IMAGE_API_VERSION;
  kind: typeof IMAGE_KIND;
  metadata: V1ObjectMeta & { name: string; namespace: string; uid: string };
  spec?: unknown;
  status?: ImageStatus;
}

/** The validated spec, or a message naming each offending field for the InvalidSpec condition. */
export function parseImageSpec(raw: unknown): { spec: ImageSpec } | { error: string } {
  return parseSpecWith(imageSpec, raw);
}
