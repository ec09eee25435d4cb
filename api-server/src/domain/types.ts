import type { RequestContext } from './request-context.js';
import type { JsonObject } from './json-schema.js';

// Shared domain types for the Image API. They mirror upstream Glance's `images`, `image_properties`,
// `image_tags`, `image_locations` and `image_members` tables so repositories map rows one to one.

export const IMAGE_STATUSES = [
  'queued',
  'saving',
  'active',
  'killed',
  'deleted',
  'pending_delete',
  'deactivated',
  'uploading',
  'importing',
] as const;
export type ImageStatus = (typeof IMAGE_STATUSES)[number];

export const VISIBILITIES = ['public', 'private', 'shared', 'community'] as const;
export type Visibility = (typeof VISIBILITIES)[number];

export const MEMBER_STATUSES = ['pending', 'accepted', 'rejected'] as const;
export type MemberStatus = (typeof MEMBER_STATUSES)[number];

export type LocationStatus = 'active' | 'pending_delete' | 'deleted';

export interface ImageLocation {
  id: number;
  url: string;
  metadata: Record<string, unknown>;
  status: LocationStatus;
}

export interface ImageRecord {
  id: string;
  name: string | null;
  disk_format: string | null;
  container_format: string | null;
  size: number | null;
  virtual_size: number | null;
  status: ImageStatus;
  visibility: Visibility;
  checksum: string | null;
  os_hash_algo: string | null;
  os_hash_value: string | null;
  min_disk: number;
  min_ram: number;
  protected: boolean;
  os_hidden: boolean;
  owner: string | null;
  created_at: Date;
  updated_at: Date | null;
  deleted_at: Date | null;
  deleted: boolean;
  // image_properties.value is a nullable TEXT: schema-image.json allows null for kernel_id/ramdisk_id,
  // and v1-era images may carry null custom properties.
  properties: Record<string, string | null>;
  tags: string[];
  // Rows not marked deleted, in id order. Only 'active' ones are part of the image upstream shows and edits.
  locations: ImageLocation[];
}

export interface MemberRecord {
  image_id: string;
  member: string;
  status: MemberStatus;
  can_share: boolean;
  created_at: Date;
  updated_at: Date;
}

/** Columns of `images` a create or PATCH may write directly. */
export const WRITABLE_COLUMNS = [
  'name',
  'disk_format',
  'container_format',
  'visibility',
  'min_disk',
  'min_ram',
  'protected',
  'os_hidden',
  'owner',
] as const;
export type WritableColumn = (typeof WRITABLE_COLUMNS)[number];
export type ColumnChanges = Partial<Pick<ImageRecord, WritableColumn>>;

/** Values from a location's `validation_data` that the image does not have yet (only ever on a queued image). */
export interface LocationValidationData {
  checksum?: string;
  os_hash_algo?: string;
  os_hash_value?: string;
}

export interface NewLocation {
  url: string;
  metadata: Record<string, unknown>;
}

/**
 * A change to the image's locations. The domain has applied every rule that needs no store; the route still
 * checks each new URL against the stores (upstream: 400 'Invalid location'), sets `size` from the store when
 * the image has none, deletes removed data, and, when `activate` is set, writes `validationData` and moves
 * the queued image to active.
 */
export type LocationOp =
  | {
      op: 'add';
      /** Index into the image's active locations at the time of this op (upstream's list.insert). */
      position: number;
      location: NewLocation;
      validationData: LocationValidationData;
      activate: boolean;
    }
  /** `location` is usually a stored row; it is new when an earlier op of the same PATCH added it. */
  | { op: 'remove'; position: number; location: ImageLocation | NewLocation }
  | {
      op: 'replace';
      locations: NewLocation[];
      /** False when only metadata changes: upstream then skips the store checks. */
      urlsChanged: boolean;
      validationData: LocationValidationData;
      activate: boolean;
    };

/** What a create or PATCH wants written; anything absent stays as it is. */
export interface ImageChanges {
  /** Create only: the id the client asked for (a UUID), else the repository generates one. */
  id?: string;
  columns: ColumnChanges;
  setProperties: Record<string, string | null>;
  removeProperties: string[];
  /** The complete new tag set, when the request names one. */
  tags?: string[];
  locations: LocationOp[];
}

export const SORT_KEYS = [
  'name',
  'status',
  'container_format',
  'disk_format',
  'size',
  'id',
  'created_at',
  'updated_at',
] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export type SortDir = 'asc' | 'desc';

export type CompareOp = 'gt' | 'gte' | 'lt' | 'lte' | 'eq' | 'neq';
export interface TimeCondition {
  op: CompareOp;
  value: Date;
}

/** Columns upstream filters with `in:a,b` or an exact value (`eq:a` or plain `a`). */
export type OneOfColumn = 'name' | 'id' | 'status' | 'container_format' | 'disk_format';

/** Other `images` columns upstream matches by plain equality when they appear as a query key. */
export type EqualsColumn =
  'owner' | 'checksum' | 'os_hash_algo' | 'os_hash_value' | 'size' | 'virtual_size' | 'min_disk' | 'min_ram';

/** Integer columns other than size that upstream range-filters with `<column>_min` / `<column>_max`. */
export type RangeColumn = 'virtual_size' | 'min_disk' | 'min_ram';

export type ListVisibility = Visibility | 'all';
export type MemberStatusFilter = MemberStatus | 'all';

export interface ListFilters {
  /** null: upstream's default scope (public, owned, accepted-shared; community only when owned). */
  visibility: ListVisibility | null;
  member_status: MemberStatusFilter;
  os_hidden: boolean;
  protected: boolean | null;
  /** Every tag must be present (AND). */
  tags: string[];
  size_min: number | null;
  size_max: number | null;
  /** `<column>_min` (gte) and `<column>_max` (lte) on the other integer columns. */
  ranges: { column: RangeColumn; op: 'gte' | 'lte'; value: number }[];
  created_at: TimeCondition | null;
  updated_at: TimeCondition | null;
  /** column IN (values); an exact match is a one-element list. */
  oneOf: Partial<Record<OneOfColumn, string[]>>;
  equals: Partial<Record<EqualsColumn, string>>;
  /** Extra property name = value, each an EXISTS on image_properties (deleted = 0). */
  properties: Record<string, string>;
}

export interface ListQuery {
  limit: number;
  marker: string | null;
  sort: { key: SortKey; dir: SortDir }[];
  filters: ListFilters;
}

/**
 * The glance-api.conf options the domain rules depend on; the config module maps its parsed file onto this.
 * Defaults match upstream's.
 */
export interface DomainConfig {
  /** [image_format] disk_formats */
  diskFormats: string[];
  /** [image_format] container_formats */
  containerFormats: string[];
  allowAdditionalImageProperties: boolean;
  /** The parsed schema-image.json (upstream merges it into the image schema); {} when there is none. */
  customImageProperties: Record<string, JsonObject>;
  showMultipleLocations: boolean;
  showImageDirectUrl: boolean;
  /** Store ids of `enabled_backends`; empty when multistore is off. */
  enabledBackends: string[];
  limitParamDefault: number;
  apiLimitMax: number;
  /** Negative means unlimited, as upstream. */
  imagePropertyQuota: number;
  imageTagQuota: number;
  imageLocationQuota: number;
  hashingAlgorithm: string;
  enforceSecureRbac: boolean;
}

export const DEFAULT_DOMAIN_CONFIG: DomainConfig = {
  diskFormats: ['ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop'],
  containerFormats: ['ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed'],
  allowAdditionalImageProperties: true,
  customImageProperties: {},
  showMultipleLocations: false,
  showImageDirectUrl: false,
  enabledBackends: [],
  limitParamDefault: 25,
  apiLimitMax: 1000,
  imagePropertyQuota: 128,
  imageTagQuota: 128,
  imageLocationQuota: 10,
  hashingAlgorithm: 'sha512',
  enforceSecureRbac: false,
};

/** The part of the request context the domain rules read. */
export type DomainContext = Pick<RequestContext, 'projectId' | 'isAdmin'>;
