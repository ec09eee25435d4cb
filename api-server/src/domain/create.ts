import { z } from 'zod';
import { Forbidden, Invalid } from './errors.js';
import {
  checkDbInt,
  checkNo4ByteTags,
  checkNo4ByteText,
  checkNotNegative,
  checkPropertyQuota,
  checkTagQuota,
  isReservedName,
  pyLength,
  storedPropertyValue,
  validateAgainstImageSchema,
} from './image-rules.js';
import type { JsonObject } from './json-schema.js';
import type { JsonValue } from './pyrepr.js';
import { emptyRecord } from './records.js';
import { imageValidationSchema, type ImageSchemaConfig } from './schemas.js';
import {
  VISIBILITIES,
  type DomainConfig,
  type DomainContext,
  type ImageChanges,
  type Visibility,
} from './types.js';

// POST /v2/images: upstream's RequestDeserializer.create, ImagesController.create and the ImageFactory/ImageRepo
// checks, in upstream's order, so the first error a client gets is the one upstream would send.

export type CreateConfig = ImageSchemaConfig &
  Pick<DomainConfig, 'imagePropertyQuota' | 'imageTagQuota' | 'enforceSecureRbac'>;

/** What upstream's add_image policy sees before the image exists. */
export interface CreateTarget {
  owner: string | null;
  /** 'private' when the body names none, as in upstream's policy target (the image itself gets 'shared'). */
  visibility: Visibility;
}

export interface CreateOptions {
  config: CreateConfig;
  /**
   * Runs the add_image and publicize/communitize policies; throws Forbidden. Called where upstream
   * enforces them: after the body is validated, before the legacy owner check and the factory's checks.
   */
  authorize(target: CreateTarget): void;
}

// Keys a client may not even name (they describe server-made links and data).
const DISALLOWED = ['direct_url', 'self', 'file', 'schema', 'stores'] as const;

// Base keys the deserializer takes out of the body; the rest become extra properties.
const BASE_KEYS = [
  'checksum',
  'created_at',
  'container_format',
  'disk_format',
  'id',
  'min_disk',
  'min_ram',
  'name',
  'size',
  'virtual_size',
  'status',
  'tags',
  'owner',
  'updated_at',
  'visibility',
  'protected',
  'os_hidden',
] as const;

// ImageFactory refuses these base keys, in this order.
const READ_ONLY = ['created_at', 'updated_at', 'status', 'checksum', 'size', 'virtual_size'] as const;

const bodySchema = z.record(z.string(), z.custom<JsonValue>());

// The shapes jsonschema has already enforced; zod narrows the types for us.
const baseSchema = z.object({
  id: z.string().optional(),
  name: z.string().nullable().optional(),
  disk_format: z.string().nullable().optional(),
  container_format: z.string().nullable().optional(),
  visibility: z.enum(VISIBILITIES).optional(),
  protected: z.boolean().optional(),
  os_hidden: z.boolean().optional(),
  min_disk: z.number().int().optional(),
  min_ram: z.number().int().optional(),
  owner: z.string().nullable().optional(),
  tags: z.array(z.string()).optional(),
});

/**
 * Turns a POST /v2/images JSON body into the image to create.
 * @throws Invalid (schema, key length, values), Forbidden (read-only, reserved, owner), LimitExceeded (quotas)
 */
export function parseCreateBody(body: unknown, ctx: DomainContext, opts: CreateOptions): ImageChanges {
  if (!bodySchema.safeParse(body).success) {
    // Upstream crashes (500) on a JSON array here; an object is the only sensible input.
    throw new Invalid('Request body must be a JSON object.');
  }
  // zod's copy would lose a "__proto__" key; the checked original keeps it.
  const input = body as JsonObject;

  for (const key of DISALLOWED) {
    if (Object.hasOwn(input, key)) throw new Forbidden(`Attribute '${key}' is read-only.`);
  }
  validateAgainstImageSchema(input, imageValidationSchema(opts.config));

  const extra = emptyRecord<JsonValue>();
  for (const [key, value] of Object.entries(input)) {
    if (!(BASE_KEYS as readonly string[]).includes(key)) extra[key] = value;
  }
  for (const key of Object.keys(extra)) {
    if (pyLength(key) > 255) throw new Invalid('Custom property should not be greater than 255 characters.');
    if (isReservedName(key)) throw new Forbidden(`Attribute '${key}' is reserved.`, { afterDefault: true });
  }

  const base = baseSchema.parse(input);
  const owner = Object.hasOwn(input, 'owner') ? (base.owner ?? null) : ctx.projectId;
  opts.authorize({ owner, visibility: base.visibility ?? 'private' });
  if (!opts.config.enforceSecureRbac && !ctx.isAdmin && owner !== ctx.projectId) {
    throw new Forbidden(`You are not permitted to create images owned by '${owner ?? 'None'}'.`);
  }

  checkTagQuota(base.tags?.length ?? 0, opts.config);
  const tags = [...new Set(base.tags ?? [])];
  for (const key of READ_ONLY) {
    if (Object.hasOwn(input, key)) throw new Forbidden(`Attribute '${key}' is read-only.`);
  }
  if (Object.hasOwn(extra, 'locations')) throw new Forbidden("Attribute 'locations' is reserved.");

  const minDisk = base.min_disk ?? 0;
  const minRam = base.min_ram ?? 0;
  checkNotNegative('min_disk', minDisk);
  checkNotNegative('min_ram', minRam);

  const properties = emptyRecord<string | null>();
  for (const [key, value] of Object.entries(extra)) properties[key] = storedPropertyValue(value);
  checkPropertyQuota(Object.keys(properties), opts.config);

  const changes: ImageChanges = {
    columns: {
      name: base.name ?? null,
      disk_format: base.disk_format ?? null,
      container_format: base.container_format ?? null,
      visibility: base.visibility ?? 'shared',
      min_disk: minDisk,
      min_ram: minRam,
      protected: base.protected ?? false,
      os_hidden: base.os_hidden ?? false,
      // The database layer stores an empty owner as NULL.
      owner: owner || null,
    },
    setProperties: properties,
    removeProperties: [],
    tags,
    locations: [],
  };
  if (base.id !== undefined) changes.id = base.id;

  const c = changes.columns;
  checkNo4ByteText(
    [
      ['name', c.name ?? null],
      ['owner', c.owner ?? null],
      ['disk_format', c.disk_format ?? null],
      ['container_format', c.container_format ?? null],
    ],
    properties,
  );
  checkDbInt('min_disk', minDisk);
  checkDbInt('min_ram', minRam);
  checkNo4ByteTags(tags);
  return changes;
}
