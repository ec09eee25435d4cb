import type { ImageSpec } from '../api/image-types.js';
import { CORE_ATTRIBUTES, IMAGE_MARK_PROPERTY } from '../api/image-types.js';
import type { GlanceImage, JsonPatchOp } from './glance-images.js';

/** The Glance attributes the spec sets, as Glance names them. */
export function declaredAttributes(spec: ImageSpec, defaultName: string) {
  return {
    name: spec.name ?? defaultName,
    visibility: spec.visibility,
    protected: spec.protected,
    os_hidden: spec.osHidden,
    min_disk: spec.minDisk,
    min_ram: spec.minRam,
  };
}

/** The body of POST /v2/images for the spec, marked as the Image's (`uid`) in the same request. */
export function createBody(
  id: string,
  spec: ImageSpec,
  defaultName: string,
  uid: string,
): Record<string, unknown> {
  return {
    id,
    ...declaredAttributes(spec, defaultName),
    disk_format: spec.diskFormat,
    container_format: spec.containerFormat,
    tags: spec.tags,
    ...spec.properties,
    [IMAGE_MARK_PROPERTY]: uid,
  };
}

const pointer = (key: string) => `/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;

/**
 * Properties Glance or its clients own: `os_*` (os_hash_*, os_glance_* import bookkeeping, and os_distro and
 * friends unless the spec declares them) are never removed; nor is the operator's mark (ownership.ts), which
 * only the create request sets.
 */
function isServerOwned(key: string): boolean {
  return CORE_ATTRIBUTES.has(key) || key.startsWith('os_') || key === IMAGE_MARK_PROPERTY;
}

/**
 * The JSON patch that puts the image back as declared: attributes, the exact tag set, declared properties,
 * and no other properties except server-owned ones. Empty when nothing drifted.
 */
export function driftPatch(image: GlanceImage, spec: ImageSpec, defaultName: string): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  for (const [key, value] of Object.entries(declaredAttributes(spec, defaultName))) {
    if (image[key] !== value) ops.push({ op: 'replace', path: pointer(key), value });
  }
  const want = [...new Set(spec.tags)].sort();
  const have = [...new Set(image.tags)].sort();
  if (want.join('\n') !== have.join('\n')) ops.push({ op: 'replace', path: '/tags', value: want });
  for (const [key, value] of Object.entries(spec.properties)) {
    if (!(key in image)) ops.push({ op: 'add', path: pointer(key), value });
    else if (image[key] !== value) ops.push({ op: 'replace', path: pointer(key), value });
  }
  for (const key of Object.keys(image)) {
    if (!isServerOwned(key) && !(key in spec.properties)) ops.push({ op: 'remove', path: pointer(key) });
  }
  return ops;
}

/** For an Event: which fields a patch puts back. */
export function describePatch(ops: JsonPatchOp[]): string {
  return ops.map((o) => `${o.op} ${o.path.slice(1)}`).join(', ');
}
