import { Invalid, LimitExceeded } from './errors.js';
import { validationMessage, type JsonObject } from './json-schema.js';
import type { JsonValue } from './pyrepr.js';
import type { DomainConfig } from './types.js';

// Checks shared by image create and PATCH, each with upstream's message and status.

/** Keys starting with this belong to Glance itself (glance/api/common.py GLANCE_RESERVED_NS). */
export const RESERVED_NAMESPACE = 'os_glance';

export const RESERVED_ATTRIBUTES = ['location', 'deleted', 'deleted_at'] as const;

export function isReservedName(name: string): boolean {
  return (RESERVED_ATTRIBUTES as readonly string[]).includes(name) || name.startsWith(RESERVED_NAMESPACE);
}

/** Python's len(): code points, not UTF-16 units. */
export function pyLength(s: string): number {
  let n = 0;
  for (const _ of s) n += 1;
  return n;
}

/** jsonschema validation of (part of) an image body; upstream answers 400 with the error text. */
export function validateAgainstImageSchema(instance: JsonObject, schema: JsonObject): void {
  const message = validationMessage(instance, schema);
  if (message !== null) {
    throw new Invalid(`Provided object does not match schema 'image': ${message}`);
  }
}

/** The domain Image's min_disk/min_ram setters. */
export function checkNotNegative(param: 'min_disk' | 'min_ram', value: number): void {
  if (value < 0) {
    throw new Invalid(`Invalid value '${value}' for parameter '${param}': Cannot be a negative value`);
  }
}

const MAX_DB_INT = 2 ** 31 - 1;

/** The database layer refuses integers its INT columns cannot hold. */
export function checkDbInt(param: 'min_disk' | 'min_ram', value: number): void {
  if (value > MAX_DB_INT) {
    throw new Invalid(`'${param}' value out of range, must not exceed ${MAX_DB_INT}.`);
  }
}

const FOUR_BYTE = /[\u{10000}-\u{10FFFF}]/u;

// str.title(): upper-case the first letter of every run of letters, lower-case the rest.
function pyTitle(s: string): string {
  let out = '';
  let previousCased = false;
  for (const ch of s) {
    const cased = ch.toLowerCase() !== ch.toUpperCase();
    out += cased ? (previousCased ? ch.toLowerCase() : ch.toUpperCase()) : ch;
    previousCased = cased;
  }
  return out;
}

/**
 * MySQL's utf8 columns cannot store 4-byte characters, so upstream's database layer (no_4byte_params) refuses
 * them; `values` is checked in the order upstream's image row lists its columns.
 */
export function checkNo4ByteText(
  values: [string, string | null][],
  properties: Record<string, string | null>,
): void {
  for (const [key, value] of values) {
    if (value !== null && FOUR_BYTE.test(value)) {
      throw new Invalid(`${pyTitle(key)} can't contain 4 byte unicode characters.`);
    }
  }
  for (const [key, value] of Object.entries(properties)) {
    if (FOUR_BYTE.test(key)) throw new Invalid("Property names can't contain 4 byte unicode.");
    if (value !== null && FOUR_BYTE.test(value)) {
      throw new Invalid(`${pyTitle(key)} can't contain 4 byte unicode characters.`);
    }
  }
}

export function checkNo4ByteTags(tags: Iterable<string>): void {
  for (const tag of tags) {
    if (FOUR_BYTE.test(tag)) throw new Invalid("Param values can't contain 4 byte unicode.");
  }
}

function limitExceeded(what: string, attempted: number, maximum: number): LimitExceeded {
  return new LimitExceeded(
    `The limit has been exceeded on the number of allowed image ${what}. Attempted: ${attempted}, Maximum: ${maximum}`,
  );
}

export function checkTagQuota(count: number, cfg: Pick<DomainConfig, 'imageTagQuota'>): void {
  if (cfg.imageTagQuota >= 0 && count > cfg.imageTagQuota)
    throw limitExceeded('tags', count, cfg.imageTagQuota);
}

/** Glance's own os_glance* properties do not count against image_property_quota. */
export function checkPropertyQuota(
  names: Iterable<string>,
  cfg: Pick<DomainConfig, 'imagePropertyQuota'>,
): void {
  if (cfg.imagePropertyQuota < 0) return;
  let attempted = 0;
  for (const name of names) if (!name.startsWith(RESERVED_NAMESPACE)) attempted += 1;
  if (attempted > cfg.imagePropertyQuota)
    throw limitExceeded('properties', attempted, cfg.imagePropertyQuota);
}

export function checkLocationQuota(count: number, cfg: Pick<DomainConfig, 'imageLocationQuota'>): void {
  if (cfg.imageLocationQuota >= 0 && count > cfg.imageLocationQuota) {
    throw limitExceeded('locations', count, cfg.imageLocationQuota);
  }
}

/**
 * image_properties.value is TEXT. The schema only lets strings (and null where schema-image.json allows it)
 * through; other JSON types can only come from a custom schema, and are stored as PyMySQL would write them.
 */
export function storedPropertyValue(value: JsonValue): string | null {
  if (value === null || typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'number') return String(value);
  return JSON.stringify(value);
}
