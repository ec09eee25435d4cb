import { queryPairs, type RawQuery } from './list-query.js';
import type { JsonValue } from './pyrepr.js';
import { emptyRecord } from './records.js';
import { imageSchemaSpec, type ImageSchemaConfig } from './schemas.js';
import type { DomainConfig, DomainContext, ImageRecord, MemberRecord } from './types.js';

// The JSON upstream's ResponseSerializers write (glance/api/v2/images.py _format_image, index;
// image_members.py _format_image_member).

export type RepresentConfig = ImageSchemaConfig &
  Pick<DomainConfig, 'showMultipleLocations' | 'showImageDirectUrl' | 'enabledBackends'>;

/** Upstream's timeutils.isotime(): whole seconds, UTC, 'Z'. */
// Building the schema costs ~12 ms per 1000 images listed; the configuration is fixed for the process, and this
// copy is only read.
const specs = new WeakMap<ImageSchemaConfig, ReturnType<typeof imageSchemaSpec>>();
function schemaSpecFor(cfg: ImageSchemaConfig): ReturnType<typeof imageSchemaSpec> {
  let spec = specs.get(cfg);
  if (spec === undefined) {
    spec = imageSchemaSpec(cfg);
    specs.set(cfg, spec);
  }
  return spec;
}

export function isoTime(at: Date): string {
  return `${at.toISOString().slice(0, 19)}Z`;
}

// Set on an image while its data sits in one worker's staging area; never shown to clients.
const HIDDEN_PROPERTIES = new Set(['os_glance_stage_host']);

/**
 * The locations an image exposes: its active ones, except that non-admins see none on a deactivated image
 * (upstream's _normalize_locations).
 */
export function visibleLocations(image: ImageRecord, ctx: DomainContext) {
  if (image.status === 'deactivated' && !ctx.isAdmin) return [];
  return image.locations.filter((l) => l.status === 'active');
}

/** The body of GET /v2/images/{id} (and of create/update responses). */
export function formatImage(
  image: ImageRecord,
  cfg: RepresentConfig,
  ctx: DomainContext,
): Record<string, JsonValue> {
  const view = emptyRecord<JsonValue>();
  for (const [key, value] of Object.entries(image.properties)) {
    if (!HIDDEN_PROPERTIES.has(key)) view[key] = value;
  }
  view.name = image.name;
  view.disk_format = image.disk_format;
  view.container_format = image.container_format;
  view.visibility = image.visibility;
  view.size = image.size;
  view.virtual_size = image.virtual_size;
  view.status = image.status;
  view.checksum = image.checksum;
  view.protected = image.protected;
  view.min_ram = image.min_ram;
  view.min_disk = image.min_disk;
  view.owner = image.owner;
  view.os_hidden = image.os_hidden;
  view.os_hash_algo = image.os_hash_algo;
  view.os_hash_value = image.os_hash_value;
  view.id = image.id;
  view.created_at = isoTime(image.created_at);
  // isotime(None) is "now" upstream.
  view.updated_at = isoTime(image.updated_at ?? new Date());

  const locations = visibleLocations(image, ctx);
  if (cfg.showMultipleLocations) {
    view.locations = locations.map((l) => ({
      url: l.url,
      metadata: l.metadata as Record<string, JsonValue>,
    }));
  }
  // With the default location_order strategy the best location is the first one.
  if (cfg.showImageDirectUrl && locations.length > 0) view.direct_url = locations[0]!.url;
  view.tags = [...image.tags];
  view.self = `/v2/images/${image.id}`;
  view.file = `/v2/images/${image.id}/file`;
  view.schema = '/v2/schemas/image';

  // schema.filter(): a strict schema drops unknown keys; a null extra property (v1 era) reads as ''.
  const spec = schemaSpecFor(cfg);
  const filtered = emptyRecord<JsonValue>();
  for (const [key, value] of Object.entries(view)) {
    if (spec.permissive || Object.hasOwn(spec.properties, key)) filtered[key] = value;
    if (!Object.hasOwn(spec.properties, key) && value === null) filtered[key] = '';
  }

  if (cfg.enabledBackends.length > 0) {
    const stores = locations
      .map((l) => l.metadata.store)
      .filter((s): s is string => typeof s === 'string' && !!s);
    if (stores.length > 0) filtered.stores = stores.join(',');
  }
  return filtered;
}

// urllib.parse.quote_plus: only letters, digits and _.-~ stay as they are.
function quotePlus(text: string): string {
  let out = '';
  for (const byte of new TextEncoder().encode(text)) {
    const ch = String.fromCharCode(byte);
    if (/[A-Za-z0-9_.~-]/.test(ch)) out += ch;
    else if (ch === ' ') out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function urlencode(params: Map<string, string>): string {
  return [...params].map(([k, v]) => `${quotePlus(k)}=${quotePlus(v)}`).join('&');
}

export interface ImagePage {
  images: ImageRecord[];
  /**
   * The id of the last image shown, when the database returned a full page (`limit` rows before the
   * per-image visibility check); null otherwise.
   */
  nextMarker: string | null;
}

/** The body of GET /v2/images; `query` is the request's own query, which the paging links repeat. */
export function formatImages(
  page: ImagePage,
  query: RawQuery,
  cfg: RepresentConfig,
  ctx: DomainContext,
): Record<string, JsonValue> {
  // dict(request.params): each key once, in first-seen order, with its last value.
  const params = new Map<string, string>();
  for (const [k, v] of queryPairs(query)) params.set(k, v);
  params.delete('marker');
  const body: Record<string, JsonValue> = {
    images: page.images.map((image) => formatImage(image, cfg, ctx)),
    first: params.size > 0 ? `/v2/images?${urlencode(params)}` : '/v2/images',
    schema: '/v2/schemas/images',
  };
  if (page.nextMarker !== null) {
    params.set('marker', page.nextMarker);
    body.next = `/v2/images?${urlencode(params)}`;
  }
  return body;
}

/** One image member as upstream shows it. */
export function formatMember(member: MemberRecord): Record<string, JsonValue> {
  return {
    member_id: member.member,
    image_id: member.image_id,
    status: member.status,
    created_at: isoTime(member.created_at),
    updated_at: isoTime(member.updated_at),
    schema: '/v2/schemas/member',
  };
}

export function formatMembers(members: MemberRecord[]): Record<string, JsonValue> {
  return { members: members.map(formatMember), schema: '/v2/schemas/members' };
}
