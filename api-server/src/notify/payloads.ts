import { isotime } from './glance-time.js';
import type { Priority } from './envelope.js';
import type { PyJson } from './py-json.js';

// Payload builders, pure functions, one per upstream formatter in glance/notifier.py (Glance 25) and
// glance/api/common.py, with the same keys in the same order and the same value types. Inputs are small plain
// records with the fields each formatter reads, so routes and services can fill them from database rows.
// Dates are Date; a missing date is sent as "now" (upstream's isotime(None)).

type Payload = { [key: string]: PyJson };

/** An image as format_image_notification reads it (glance.domain.Image). */
export interface ImageNotice {
  id: string;
  name: string | null;
  status: string;
  created_at: Date;
  updated_at: Date | null;
  min_disk: number;
  min_ram: number;
  protected: boolean;
  checksum: string | null;
  owner: string | null;
  disk_format: string | null;
  container_format: string | null;
  size: number | null;
  virtual_size: number | null;
  visibility: string;
  /** Additional properties (not the base attributes such as os_hash_algo), as stored (null for a NULL value). */
  extra_properties: Record<string, string | null>;
  tags: readonly string[];
}

/**
 * image.create (POST /v2/images, after the row is added), image.update (every image save: PATCH, tag add/remove,
 * upload's status changes, import's changes), image.activate (after upload stored the data of an image not yet
 * active). Deliberately without locations: they may hold credentials.
 */
export function imagePayload(image: ImageNotice): Payload {
  return {
    id: image.id,
    name: image.name,
    status: image.status,
    created_at: isotime(image.created_at),
    updated_at: isotime(image.updated_at),
    min_disk: image.min_disk,
    min_ram: image.min_ram,
    protected: image.protected,
    checksum: image.checksum,
    owner: image.owner,
    disk_format: image.disk_format,
    container_format: image.container_format,
    size: image.size,
    virtual_size: image.virtual_size,
    is_public: image.visibility === 'public',
    visibility: image.visibility,
    properties: { ...image.extra_properties },
    tags: [...image.tags],
    deleted: false,
    deleted_at: null,
  };
}

function commaList(value: string | null | undefined): string[] {
  return value ? value.split(',') : [];
}

/**
 * image.prepare (before the data is written, in set_data) and image.upload (after it was stored, before
 * image.activate): the image payload plus the import properties as lists; `backend` is added when the
 * upload named a store (multi-store).
 */
export function imageDataPayload(image: ImageNotice, backend?: string | null): Payload {
  const payload: Payload = {
    ...imagePayload(image),
    os_glance_importing_to_stores: commaList(image.extra_properties['os_glance_importing_to_stores']),
    os_glance_failed_import: commaList(image.extra_properties['os_glance_failed_import']),
  };
  if (backend) payload['backend'] = backend;
  return payload;
}

/** image.delete (DELETE /v2/images/{id}, after the row is removed; status is then "deleted"). */
export function imageDeletePayload(image: ImageNotice, deletedAt: Date = new Date()): Payload {
  return { ...imagePayload(image), deleted: true, deleted_at: isotime(deletedAt) };
}

/** Why an upload failed, as ImageProxy.set_data tells each exception apart. */
export type UploadFailure =
  | 'storage_full'
  | 'write_denied'
  | 'bad_data'
  | 'duplicate'
  | 'forbidden'
  | 'not_found'
  | 'http_error'
  | 'internal_error';

/**
 * image.upload at ERROR priority when storing the data failed: upstream sends a bare string, not an object.
 * `error` is the exception's text (already free of secrets).
 */
export function imageUploadFailurePayload(kind: UploadFailure, imageId: string, error: string): string {
  switch (kind) {
    case 'storage_full':
      return `Image storage media is full: ${error}`;
    case 'write_denied':
      return `Insufficient permissions on image storage media: ${error}`;
    case 'bad_data':
      return `Cannot save data for image ${imageId}: ${error}`;
    case 'duplicate':
      return `Unable to upload duplicate image data for image ${imageId}: ${error}`;
    case 'forbidden':
      return `Not allowed to upload image data for image ${imageId}: ${error}`;
    case 'not_found':
      return (
        `Image ${imageId} could not be found after upload. The image may have been deleted during the upload: ` +
        error
      );
    case 'http_error':
      return `Failed to upload image data for image ${imageId} due to HTTP error: ${error}`;
    case 'internal_error':
      return `Failed to upload image data for image ${imageId} due to internal error: ${error}`;
  }
}

export interface ImageSendNotice {
  imageId: string;
  /** The image's owner. */
  ownerId: string | null;
  /** The requesting project and user. */
  receiverTenantId: string | null;
  receiverUserId: string | null;
  bytesSent: number;
  /** What a complete download sends: the image size, or the requested range's length. */
  expectedBytes: number | null;
  /** Only for downloads served by the cache middleware (glance/api/common.py), which adds the client address. */
  destinationIp?: string;
}

/**
 * image.send: once the download's body has been written out (GET /v2/images/{id}/file). ERROR priority when
 * fewer (or more) bytes went out than expected, INFO otherwise. Upstream sends the cache middleware's variant
 * without the disabled_notifications filter (notify with `unfiltered`).
 */
export function imageSendNotification(send: ImageSendNotice): { payload: Payload; priority: Priority } {
  const payload: Payload = {
    bytes_sent: send.bytesSent,
    image_id: send.imageId,
    owner_id: send.ownerId,
    receiver_tenant_id: send.receiverTenantId,
    receiver_user_id: send.receiverUserId,
  };
  if (send.destinationIp !== undefined) payload['destination_ip'] = send.destinationIp;
  return { payload, priority: send.bytesSent === send.expectedBytes ? 'INFO' : 'ERROR' };
}

/** An image member as format_image_member_notification reads it. */
export interface MemberNotice {
  image_id: string;
  member_id: string;
  status: string;
  created_at: Date;
  updated_at: Date | null;
}

/** image.member.create (POST members, after add), image.member.update (PUT member status, after save). */
export function memberPayload(member: MemberNotice): Payload {
  return {
    image_id: member.image_id,
    member_id: member.member_id,
    status: member.status,
    created_at: isotime(member.created_at),
    updated_at: isotime(member.updated_at),
    deleted: false,
    deleted_at: null,
  };
}

/** image.member.delete (DELETE member, after removal). */
export function memberDeletePayload(member: MemberNotice, deletedAt: Date = new Date()): Payload {
  return { ...memberPayload(member), deleted: true, deleted_at: isotime(deletedAt) };
}

/** A task as format_task_notification reads it; input and result are never sent (they may hold secrets). */
export interface TaskNotice {
  id: string;
  type: string;
  status: string;
  owner: string | null;
  expires_at: Date | null;
  created_at: Date;
  updated_at: Date | null;
}

/**
 * task.create (after the task row is added: POST /v2/tasks, and the task an image import creates),
 * task.run (after the task was handed to its executor), task.processing (status → processing),
 * task.success and task.failure (after the final status is saved). `result` and `message` are always null.
 */
export function taskPayload(task: TaskNotice): Payload {
  return {
    id: task.id,
    type: task.type,
    status: task.status,
    result: null,
    owner: task.owner,
    message: null,
    expires_at: isotime(task.expires_at),
    created_at: isotime(task.created_at),
    updated_at: isotime(task.updated_at),
    deleted: false,
    deleted_at: null,
  };
}

/** task.delete (when a task is removed). */
export function taskDeletePayload(task: TaskNotice, deletedAt: Date = new Date()): Payload {
  return { ...taskPayload(task), deleted: true, deleted_at: isotime(deletedAt) };
}

export interface NamespaceNotice {
  namespace: string;
  display_name: string | null;
  protected: boolean;
  visibility: string;
  owner: string | null;
  description: string | null;
  created_at: Date;
  updated_at: Date | null;
}

/**
 * metadef_namespace.create (POST namespaces, after add; the namespace's nested resource types, objects, tags and
 * properties then send their own .create events), metadef_namespace.update (PUT, after save, with the name before
 * the change), metadef_namespace.delete_objects / delete_properties / delete_tags (DELETE of the namespace's
 * objects, properties, tags).
 */
export function namespacePayload(ns: NamespaceNotice, oldNamespace?: string): Payload {
  return {
    namespace: ns.namespace,
    namespace_old: oldNamespace ?? ns.namespace,
    display_name: ns.display_name,
    protected: ns.protected,
    visibility: ns.visibility,
    owner: ns.owner,
    description: ns.description,
    created_at: isotime(ns.created_at),
    updated_at: isotime(ns.updated_at),
    deleted: false,
    deleted_at: null,
  };
}

/** metadef_namespace.delete (DELETE namespace, after removal). */
export function namespaceDeletePayload(ns: NamespaceNotice, deletedAt: Date = new Date()): Payload {
  return { ...namespacePayload(ns), deleted: true, deleted_at: isotime(deletedAt) };
}

/** A property schema as the metadef API accepts it (the keys upstream's formatters read). */
export interface PropertySchema {
  type?: string | null;
  title?: string | null;
  description?: string | null;
  default?: PyJson;
  minimum?: number | null;
  maximum?: number | null;
  enum?: PyJson[] | null;
  pattern?: string | null;
  minLength?: number | null;
  maxLength?: number | null;
  confidential?: boolean | null;
  items?: PyJson;
  uniqueItems?: boolean | null;
  minItems?: number | null;
  maxItems?: number | null;
  additionalItems?: boolean | null;
}

const SCHEMA_KEYS = [
  'type',
  'title',
  'description',
  'default',
  'minimum',
  'maximum',
  'enum',
  'pattern',
  'minLength',
  'maxLength',
  'confidential',
  'items',
  'uniqueItems',
  'minItems',
  'maxItems',
  'additionalItems',
] as const;

/** Python truthiness, for `value or None`. */
function pyTruthy(value: PyJson | undefined): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

export interface ObjectNotice {
  /** The namespace's name. */
  namespace: string;
  name: string;
  description: string | null;
  required: readonly string[] | null;
  /** Property name → schema, in the object's order. */
  properties: Record<string, PropertySchema> | null;
  created_at: Date;
  updated_at: Date | null;
}

/**
 * metadef_object.create (POST objects, after add), metadef_object.update (PUT, after save, with the name before
 * the change). Each property is listed with every schema key, a false-y value sent as null (upstream's `or None`).
 * Pass the properties as upstream's WSME conversion leaves them (domain/metadef-wsme.ts: `default` is a string,
 * "False" for false). One deliberate difference: for a property with `items`, upstream's JSON encoding of the
 * WSME ItemType fails ("Circular reference detected" in glance-api.log) and the event is lost; we send `items`
 * as its JSON object.
 */
export function objectPayload(obj: ObjectNotice, oldName?: string): Payload {
  const properties: PyJson[] = Object.entries(obj.properties ?? {}).map(([name, schema]) => {
    const entry: Payload = { name };
    for (const key of SCHEMA_KEYS) {
      const value = schema[key];
      entry[key] = pyTruthy(value) ? (value as PyJson) : null;
    }
    return entry;
  });
  return {
    namespace: obj.namespace,
    name: obj.name,
    name_old: oldName ?? obj.name,
    properties,
    required: obj.required ? [...obj.required] : null,
    description: obj.description,
    created_at: isotime(obj.created_at),
    updated_at: isotime(obj.updated_at),
    deleted: false,
    deleted_at: null,
  };
}

/** metadef_object.delete (DELETE object, after removal). */
export function objectDeletePayload(obj: ObjectNotice, deletedAt: Date = new Date()): Payload {
  return { ...objectPayload(obj), deleted: true, deleted_at: isotime(deletedAt) };
}

export interface PropertyNotice {
  namespace: string;
  name: string;
  schema: PropertySchema;
}

/**
 * metadef_property.create (POST properties, after add), metadef_property.update (PUT, after save, with the name
 * before the change). Schema keys are sent as given (missing ones as null); the property has no dates here.
 */
export function propertyPayload(prop: PropertyNotice, oldName?: string): Payload {
  const payload: Payload = { namespace: prop.namespace, name: prop.name, name_old: oldName ?? prop.name };
  for (const key of SCHEMA_KEYS) payload[key] = (prop.schema[key] as PyJson | undefined) ?? null;
  payload['deleted'] = false;
  payload['deleted_at'] = null;
  return payload;
}

/** metadef_property.delete (DELETE property, after removal). */
export function propertyDeletePayload(prop: PropertyNotice, deletedAt: Date = new Date()): Payload {
  return { ...propertyPayload(prop), deleted: true, deleted_at: isotime(deletedAt) };
}

export interface ResourceTypeNotice {
  namespace: string;
  name: string;
  prefix: string | null;
  properties_target: string | null;
  created_at: Date;
  updated_at: Date | null;
}

/** metadef_resource_type.create (POST a namespace's resource type association, after add). */
export function resourceTypePayload(rt: ResourceTypeNotice): Payload {
  return {
    namespace: rt.namespace,
    name: rt.name,
    name_old: rt.name,
    prefix: rt.prefix,
    properties_target: rt.properties_target,
    created_at: isotime(rt.created_at),
    updated_at: isotime(rt.updated_at),
    deleted: false,
    deleted_at: null,
  };
}

/** metadef_resource_type.delete (DELETE the association, after removal). */
export function resourceTypeDeletePayload(rt: ResourceTypeNotice, deletedAt: Date = new Date()): Payload {
  return { ...resourceTypePayload(rt), deleted: true, deleted_at: isotime(deletedAt) };
}

export interface TagNotice {
  namespace: string;
  name: string;
  created_at: Date;
  updated_at: Date | null;
}

/**
 * metadef_tag.create (POST one tag, and one event per tag for POST tags in bulk, after add),
 * metadef_tag.update (PUT, after save, with the name before the change).
 */
export function tagPayload(tag: TagNotice, oldName?: string): Payload {
  return {
    namespace: tag.namespace,
    name: tag.name,
    name_old: oldName ?? tag.name,
    created_at: isotime(tag.created_at),
    updated_at: isotime(tag.updated_at),
    deleted: false,
    deleted_at: null,
  };
}

/** metadef_tag.delete (DELETE tag, after removal). */
export function tagDeletePayload(tag: TagNotice, deletedAt: Date = new Date()): Payload {
  return { ...tagPayload(tag), deleted: true, deleted_at: isotime(deletedAt) };
}
