import { createHash } from 'node:crypto';
import { z } from 'zod';
import { Conflict, Forbidden, Invalid, UnsupportedMediaType } from './errors.js';
import { READ_ONLY_IMAGE_ATTRIBUTES, WRITABLE_IMAGE_ATTRIBUTES } from './image-attributes.js';
import { nodeHashName } from './hash-algorithms.js';
import {
  checkDbInt,
  checkLocationQuota,
  checkNo4ByteTags,
  checkNo4ByteText,
  checkNotNegative,
  checkPropertyQuota,
  checkTagQuota,
  isReservedName,
  storedPropertyValue,
  validateAgainstImageSchema,
} from './image-rules.js';
import { isJsonObject, type JsonObject } from './json-schema.js';
import { pyRepr, type JsonValue } from './pyrepr.js';
import { emptyRecord } from './records.js';
import { imageValidationSchema, type ImageSchemaConfig } from './schemas.js';
import { checkStatusTransition } from './status.js';
import {
  VISIBILITIES,
  type ColumnChanges,
  type DomainConfig,
  type DomainContext,
  type ImageChanges,
  type ImageLocation,
  type ImageRecord,
  type LocationOp,
  type LocationValidationData,
  type NewLocation,
} from './types.js';

// PATCH /v2/images/{id}: upstream's RequestDeserializer.update (parsePatch) and ImagesController.update with
// the domain model's setters (applyPatch).

export const PATCH_MEDIA_TYPES = {
  'application/openstack-images-v2.0-json-patch': 'v2.0',
  'application/openstack-images-v2.1-json-patch': 'v2.1',
} as const;
export type PatchDialect = (typeof PATCH_MEDIA_TYPES)[keyof typeof PATCH_MEDIA_TYPES];

export type PatchOpName = 'add' | 'remove' | 'replace';
const OPERATIONS: readonly PatchOpName[] = ['add', 'remove', 'replace'];

export interface PatchOp {
  op: PatchOpName;
  /** Decoded JSON pointer: one element, or two for /locations/<position>. */
  path: string[];
  /** Absent for remove. */
  value?: JsonValue;
  /** v2.0 refuses to add what already exists (409); v2.1 overwrites it. */
  dialect: PatchDialect;
}

// Attributes of the domain Image a PATCH may name; anything else is an extra property.
const IMAGE_ATTRIBUTES: ReadonlySet<string> = new Set(WRITABLE_IMAGE_ATTRIBUTES);
const READ_ONLY: ReadonlySet<string> = new Set(READ_ONLY_IMAGE_ATTRIBUTES);

// Python's str() of a value inside a message.
function pyStr(value: JsonValue | undefined): string {
  if (value === undefined) return 'None';
  return typeof value === 'string' ? value : pyRepr(value);
}

function badRequest(message: string): Invalid {
  return new Invalid(message);
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';', 1)[0]!.trim();
}

function validatePointer(pointer: string): void {
  if (!pointer.startsWith('/')) throw badRequest(`Pointer \`${pointer}\` does not start with "/".`);
  if (/\/\s*?\//.test(pointer.slice(1))) throw badRequest(`Pointer \`${pointer}\` contains adjacent "/".`);
  if (pointer.length > 1 && pointer.endsWith('/')) throw badRequest(`Pointer \`${pointer}\` end with "/".`);
  if (pointer.slice(1).trim() === '/')
    throw badRequest(`Pointer \`${pointer}\` does not contains valid token.`);
  if (/~[^01]/.test(pointer) || pointer.endsWith('~')) {
    throw badRequest(`Pointer \`${pointer}\` contains "~" not part of a recognized escape sequence.`);
  }
}

function decodePointer(pointer: JsonValue): string[] {
  // Upstream fails with a 500 on a non-string pointer; it is a malformed request.
  if (typeof pointer !== 'string') throw badRequest(`Pointer \`${pyStr(pointer)}\` does not start with "/".`);
  validatePointer(pointer);
  return pointer
    .replace(/^\/+/, '')
    .split('/')
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~').trim());
}

function operationV21(raw: JsonObject): { op: PatchOpName; pointer: JsonValue } {
  const available = OPERATIONS.join(', ');
  const op = raw.op;
  if (op === undefined || op === null) {
    throw badRequest(
      `Unable to find \`op\` in JSON Schema change. It must be one of the following: ${available}.`,
    );
  }
  if (!OPERATIONS.includes(op as PatchOpName)) {
    throw badRequest(`Invalid operation: \`${pyStr(op)}\`. It must be one of the following: ${available}.`);
  }
  if (!Object.hasOwn(raw, 'path')) throw badRequest("Unable to find 'path' in JSON Schema change");
  return { op: op as PatchOpName, pointer: raw.path! };
}

function operationV20(raw: JsonObject): { op: PatchOpName; pointer: JsonValue } {
  const present = OPERATIONS.filter((op) => Object.hasOwn(raw, op));
  if (present.length > 1) {
    throw badRequest('Operation objects must contain only one member named "add", "remove", or "replace".');
  }
  const op = present[0];
  if (op === undefined) {
    throw badRequest(
      'Operation objects must contain exactly one member named "add", "remove", or "replace".',
    );
  }
  return { op, pointer: raw[op]! };
}

/**
 * Reads a PATCH request: its media type and JSON body (undefined when there was none).
 * @throws UnsupportedMediaType (with the accepted types), Invalid (malformed operations, schema), Forbidden (read-only/reserved paths)
 */
export function parsePatch(
  contentType: string | undefined,
  body: unknown,
  cfg: ImageSchemaConfig,
): PatchOp[] {
  const type = mediaType(contentType);
  if (!Object.hasOwn(PATCH_MEDIA_TYPES, type)) {
    throw new UnsupportedMediaType(undefined, { acceptPatch: Object.keys(PATCH_MEDIA_TYPES) });
  }
  const dialect = PATCH_MEDIA_TYPES[type as keyof typeof PATCH_MEDIA_TYPES];
  if (body === undefined) throw badRequest('Body expected in request.');
  if (!Array.isArray(body)) throw badRequest('Request body must be a JSON array of operation objects.');

  const schema = imageValidationSchema(cfg);
  return body.map((raw: unknown) => {
    if (!isJsonObject(raw)) throw badRequest('Operations must be JSON objects.');
    const { op, pointer } = dialect === 'v2.1' ? operationV21(raw) : operationV20(raw);
    const path = decodePointer(pointer);
    const root = path[0]!;
    const depth = root === 'locations' && op !== 'replace' ? 2 : 1;
    if (path.length !== depth)
      throw badRequest(`Invalid JSON pointer for this resource: '/${path.join('/')}'`);
    const change: PatchOp = { op, path, dialect };
    if (op !== 'remove') {
      if (!Object.hasOwn(raw, 'value'))
        throw badRequest(`Operation "${op}" requires a member named "value".`);
      change.value = raw.value!;
    }
    if (READ_ONLY.has(root)) throw new Forbidden(`Attribute '${root}' is read-only.`);
    if (isReservedName(root)) throw new Forbidden(`Attribute '${root}' is reserved.`);
    if (op !== 'remove') {
      // /locations/<pos> adds one element of the array attribute.
      const partial = path.length === 1 ? { [root]: change.value! } : { [root]: [change.value!] };
      validateAgainstImageSchema(partial, schema);
    }
    return change;
  });
}

/**
 * What a PATCH needs checked by policy, in upstream's order; the callback throws Forbidden or NotFound. Each is
 * followed by the owner-or-admin check upstream makes when it saves the image.
 */
export type PatchAuthorization =
  /** visibility: publicize/communitize for the new value first; then modify_image. */
  | { action: 'update_property'; name: string; value: JsonValue | undefined }
  | { action: 'set_image_location' }
  | { action: 'delete_image_location' };

export type PatchConfig = ImageSchemaConfig &
  Pick<
    DomainConfig,
    | 'showMultipleLocations'
    | 'imagePropertyQuota'
    | 'imageTagQuota'
    | 'imageLocationQuota'
    | 'hashingAlgorithm'
  >;

export interface PatchOptions {
  config: PatchConfig;
  authorize(check: PatchAuthorization): void;
}

const locationSchema = z.object({
  url: z.string(),
  metadata: z.record(z.string(), z.unknown()),
  validation_data: z
    .object({ checksum: z.string().optional(), os_hash_algo: z.string(), os_hash_value: z.string() })
    .optional(),
});
type LocationInput = z.infer<typeof locationSchema>;

const columnSchemas = {
  name: z.string().nullable(),
  visibility: z.enum(VISIBILITIES),
  protected: z.boolean(),
  os_hidden: z.boolean(),
  min_disk: z.number().int(),
  min_ram: z.number().int(),
  owner: z.string().nullable(),
  disk_format: z.string().nullable(),
  container_format: z.string().nullable(),
};
type ColumnName = keyof typeof columnSchemas;

// bytearray.fromhex(): hex pairs, optionally separated by whitespace.
function hexByteLength(value: string): number | null {
  if (!/^\s*(?:[0-9a-fA-F]{2}\s*)*$/.test(value)) return null;
  return value.replace(/\s/g, '').length / 2;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The image as a sequence of PATCH operations sees it, one op after another. */
class WorkingImage {
  readonly columns: ColumnChanges = {};
  readonly properties: Record<string, string | null>;
  tags: string[];
  status: ImageRecord['status'];
  checksum: string | null;
  osHashAlgo: string | null;
  osHashValue: string | null;
  locations: (ImageLocation | NewLocation)[];
  readonly locationOps: LocationOp[] = [];

  constructor(readonly image: ImageRecord) {
    this.properties = Object.assign(emptyRecord<string | null>(), image.properties);
    this.tags = [...image.tags];
    this.status = image.status;
    this.checksum = image.checksum;
    this.osHashAlgo = image.os_hash_algo;
    this.osHashValue = image.os_hash_value;
    this.locations = image.locations.filter((l) => l.status === 'active');
  }

  column<K extends ColumnName>(name: K): ImageRecord[K] {
    return (Object.hasOwn(this.columns, name) ? this.columns[name] : this.image[name]) as ImageRecord[K];
  }
}

function validationValue(image: WorkingImage, key: keyof LocationValidationData): string | null {
  if (key === 'checksum') return image.checksum;
  return key === 'os_hash_algo' ? image.osHashAlgo : image.osHashValue;
}

// ImagesController._validate_validation_data
function newValidationData(image: WorkingImage, locations: LocationInput[], hashingAlgorithm: string) {
  const given: LocationValidationData = {};
  for (const loc of locations) {
    for (const [k, v] of Object.entries(loc.validation_data ?? {}) as [
      keyof LocationValidationData,
      string,
    ][]) {
      if (v === undefined) continue;
      if (given[k] !== undefined && given[k] !== v) throw new Conflict(`Conflicting values for ${k}`);
      given[k] = v;
    }
  }
  const fresh: LocationValidationData = {};
  for (const [k, v] of Object.entries(given) as [keyof LocationValidationData, string][]) {
    const current = validationValue(image, k);
    if (v === current) continue;
    if (current) throw new Conflict(`${k} is already set with a different value`);
    fresh[k] = v;
  }
  if (Object.keys(fresh).length === 0) return fresh;
  if (image.status !== 'queued') {
    throw new Conflict(
      `New value(s) for ${Object.keys(fresh).join(', ')} may only be provided when image status is 'queued'`,
    );
  }
  if (fresh.checksum !== undefined) {
    const length = hexByteLength(fresh.checksum);
    if (length === null) throw new Conflict(`checksum (${fresh.checksum}) is not a valid hexadecimal value`);
    if (length !== 16) {
      throw new Conflict(`checksum (${fresh.checksum}) is not the correct size for md5 (should be 16 bytes)`);
    }
  }
  if (fresh.os_hash_algo !== hashingAlgorithm) {
    throw new Conflict(`os_hash_algo must be ${hashingAlgorithm}, not ${fresh.os_hash_algo ?? 'None'}`);
  }
  if (fresh.os_hash_value !== undefined) {
    const length = hexByteLength(fresh.os_hash_value);
    if (length === null) {
      throw new Conflict(`os_hash_value (${fresh.os_hash_value}) is not a valid hexadecimal value`);
    }
    const nodeName = nodeHashName(hashingAlgorithm);
    const want = nodeName === null ? null : createHash(nodeName).digest().length;
    if (want !== null && length !== want) {
      throw new Conflict(
        `os_hash_value (${fresh.os_hash_value}) is not the correct size for ${hashingAlgorithm} ` +
          `(should be ${want} bytes)`,
      );
    }
  }
  return fresh;
}

// Adding data to a queued image makes it active, with the validation data as its hashes.
function activateIfQueued(image: WorkingImage, data: LocationValidationData): boolean {
  if (image.status !== 'queued') return false;
  const transition = checkStatusTransition(
    {
      status: image.status,
      disk_format: image.column('disk_format'),
      container_format: image.column('container_format'),
    },
    'active',
  );
  if (!transition.ok) throw badRequest(transition.message);
  if (data.checksum !== undefined) image.checksum = data.checksum;
  if (data.os_hash_algo !== undefined) image.osHashAlgo = data.os_hash_algo;
  if (data.os_hash_value !== undefined) image.osHashValue = data.os_hash_value;
  image.status = 'active';
  return true;
}

function toNewLocation(loc: LocationInput): NewLocation {
  return { url: loc.url, metadata: loc.metadata };
}

// repr() of upstream's location dicts, for "Original locations is not empty".
function locationsRepr(locations: (ImageLocation | NewLocation)[]): string {
  const dicts = locations.map((l): JsonValue => {
    const metadata = l.metadata as JsonObject;
    return 'id' in l
      ? { id: l.id, url: l.url, metadata, status: l.status }
      : { url: l.url, metadata, status: 'active' };
  });
  return pyRepr(dicts);
}

function addLocation(image: WorkingImage, pathPos: string, value: JsonValue, cfg: PatchConfig): void {
  if (!cfg.showMultipleLocations) {
    throw new Forbidden("It's not allowed to add locations if locations are invisible.");
  }
  if (image.status !== 'active' && image.status !== 'queued') {
    throw new Conflict(`It's not allowed to add locations if image status is ${image.status}.`);
  }
  const input = locationSchema.parse(value);
  const data = newValidationData(image, [input], cfg.hashingAlgorithm);
  const count = image.locations.length;
  let position: number;
  if (/^[0-9]+$/.test(pathPos)) position = Math.min(Number(pathPos), count);
  else if (pathPos === '-') position = count;
  else throw badRequest('Invalid position for adding a location.');
  checkLocationQuota(count + 1, cfg);
  const location = toNewLocation(input);
  if (image.locations.some((l) => l.url === location.url && sameJson(l.metadata, location.metadata))) {
    throw badRequest(`The location ${location.url} already exists`);
  }
  image.locations.splice(position, 0, location);
  const activate = activateIfQueued(image, data);
  image.locationOps.push({ op: 'add', position, location, validationData: data, activate });
}

function replaceLocations(image: WorkingImage, value: JsonValue, cfg: PatchConfig): void {
  if (!cfg.showMultipleLocations) {
    throw new Forbidden("It's not allowed to update locations if locations are invisible.");
  }
  if (image.status !== 'active' && image.status !== 'queued') {
    throw new Conflict(`It's not allowed to replace locations if image status is ${image.status}.`);
  }
  const inputs = z.array(locationSchema).parse(value);
  const data = newValidationData(image, inputs, cfg.hashingAlgorithm);
  checkLocationQuota(inputs.length, cfg);
  const locations = inputs.map(toNewLocation);
  const wanted = locations.map((l) => l.url).sort();
  const current = image.locations.map((l) => l.url).sort();
  const urlsChanged = !sameJson(wanted, current);
  if (image.locations.length > 0 && urlsChanged) {
    throw badRequest(`Original locations is not empty: ${locationsRepr(image.locations)}`);
  }
  if (urlsChanged) {
    for (const loc of locations) {
      const copies = locations.filter((l) => l.url === loc.url && sameJson(l.metadata, loc.metadata));
      if (copies.length > 1) throw badRequest(`The location ${loc.url} already exists`);
    }
  }
  image.locations = locations;
  const activate = activateIfQueued(image, data);
  image.locationOps.push({ op: 'replace', locations, urlsChanged, validationData: data, activate });
}

function removeLocation(image: WorkingImage, pathPos: string, cfg: PatchConfig): void {
  if (!cfg.showMultipleLocations) {
    throw new Forbidden("It's not allowed to remove locations if locations are invisible.");
  }
  if (image.status !== 'active') {
    throw new Conflict(`It's not allowed to remove locations if image status is ${image.status}.`);
  }
  const count = image.locations.length;
  if (count === 1) throw new Forbidden('Cannot remove last location in the image.', { afterDefault: true });
  let position: number | null = null;
  if (/^[0-9]+$/.test(pathPos)) position = Number(pathPos);
  else if (pathPos === '-') position = count - 1;
  if (position === null || position < 0 || position >= count) {
    throw badRequest('Invalid position for removing a location.');
  }
  const [location] = image.locations.splice(position, 1);
  image.locationOps.push({ op: 'remove', position, location: location! });
}

function setAttribute(image: WorkingImage, name: string, value: JsonValue, cfg: PatchConfig): void {
  if (name === 'tags') {
    const tags = z.array(z.string()).parse(value);
    checkTagQuota(tags.length, cfg);
    image.tags = [...new Set(tags)];
    return;
  }
  const column = name as ColumnName;
  const parsed = columnSchemas[column].parse(value);
  if (
    (column === 'disk_format' || column === 'container_format') &&
    !['queued', 'importing'].includes(image.status)
  ) {
    throw new Forbidden(`Attribute ${column} can be only replaced for a queued image.`);
  }
  if (column === 'min_disk' || column === 'min_ram') checkNotNegative(column, parsed as number);
  (image.columns as Record<string, unknown>)[column] = parsed;
}

function replace(image: WorkingImage, change: PatchOp, ctx: DomainContext, opts: PatchOptions): void {
  const root = change.path[0]!;
  const value = change.value ?? null;
  if (root === 'locations') {
    if (Array.isArray(value) && value.length === 0) {
      throw new Forbidden('Cannot set locations to empty list.', { afterDefault: true });
    }
    opts.authorize({ action: 'set_image_location' });
    replaceLocations(image, value, opts.config);
    return;
  }
  if (root === 'owner' && !ctx.isAdmin)
    throw new Forbidden("Owner can't be updated by non admin.", { afterDefault: true });
  opts.authorize({ action: 'update_property', name: root, value });
  if (IMAGE_ATTRIBUTES.has(root)) setAttribute(image, root, value, opts.config);
  else if (Object.hasOwn(image.properties, root)) image.properties[root] = storedPropertyValue(value);
  else throw new Conflict(`Property ${root} does not exist.`, { afterDefault: true });
}

function add(image: WorkingImage, change: PatchOp, opts: PatchOptions): void {
  const root = change.path[0]!;
  const value = change.value ?? null;
  if (root === 'locations') {
    opts.authorize({ action: 'set_image_location' });
    addLocation(image, change.path[1]!, value, opts.config);
    return;
  }
  opts.authorize({ action: 'update_property', name: root, value });
  const exists = IMAGE_ATTRIBUTES.has(root) || Object.hasOwn(image.properties, root);
  if (exists && change.dialect === 'v2.0')
    throw new Conflict(`Property ${root} already present.`, { afterDefault: true });
  if (IMAGE_ATTRIBUTES.has(root)) setAttribute(image, root, value, opts.config);
  else image.properties[root] = storedPropertyValue(value);
}

function remove(image: WorkingImage, change: PatchOp, opts: PatchOptions): void {
  const root = change.path[0]!;
  if (root === 'locations') {
    opts.authorize({ action: 'delete_image_location' });
    removeLocation(image, change.path[1]!, opts.config);
    return;
  }
  opts.authorize({ action: 'update_property', name: root, value: undefined });
  if (IMAGE_ATTRIBUTES.has(root))
    throw new Forbidden(`Property ${root} may not be removed.`, { afterDefault: true });
  if (!Object.hasOwn(image.properties, root))
    throw new Conflict(`Property ${root} does not exist.`, { afterDefault: true });
  delete image.properties[root];
}

// ImageRepo.save: the quota and database checks run once, on the final image.
function checkSave(image: WorkingImage, cfg: PatchConfig): void {
  const original = new Set(Object.keys(image.image.properties));
  const names = Object.keys(image.properties);
  if (names.some((n) => !original.has(n))) checkPropertyQuota(names, cfg);
  checkNo4ByteText(
    [
      ['name', image.column('name')],
      ['owner', image.column('owner')],
      ['disk_format', image.column('disk_format')],
      ['container_format', image.column('container_format')],
    ],
    image.properties,
  );
  checkDbInt('min_disk', image.column('min_disk'));
  checkDbInt('min_ram', image.column('min_ram'));
  checkNo4ByteTags(image.tags);
}

/**
 * Applies parsed PATCH operations to `image` with upstream's semantics. The route writes the result (and,
 * like upstream, saves whenever `ops` is not empty, which bumps updated_at).
 * @throws Invalid, Forbidden, Conflict, LimitExceeded as upstream; whatever `opts.authorize` throws
 */
export function applyPatch(
  image: ImageRecord,
  ops: PatchOp[],
  ctx: DomainContext,
  opts: PatchOptions,
): ImageChanges {
  const working = new WorkingImage(image);
  if (ops.length === 0) return { columns: {}, setProperties: {}, removeProperties: [], locations: [] };
  for (const change of ops) {
    if (change.op === 'replace') replace(working, change, ctx, opts);
    else if (change.op === 'add') add(working, change, opts);
    else remove(working, change, opts);
  }
  checkSave(working, opts.config);

  const columns: ColumnChanges = {};
  for (const [key, value] of Object.entries(working.columns) as [ColumnName, never][]) {
    if (image[key] !== value) (columns as Record<string, unknown>)[key] = value;
  }
  const setProperties = emptyRecord<string | null>();
  for (const [key, value] of Object.entries(working.properties)) {
    if (!Object.hasOwn(image.properties, key) || image.properties[key] !== value) setProperties[key] = value;
  }
  const changes: ImageChanges = {
    columns,
    setProperties,
    removeProperties: Object.keys(image.properties).filter((k) => !Object.hasOwn(working.properties, k)),
    locations: working.locationOps,
  };
  if (!sameJson([...working.tags].sort(), [...image.tags].sort())) changes.tags = working.tags;
  return changes;
}
