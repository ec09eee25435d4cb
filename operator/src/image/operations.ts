import { randomUUID } from 'node:crypto';
import { createBody, describePatch, driftPatch } from './drift.js';
import type { GlanceImage, GlanceImagesApi } from './glance-images.js';
import type { SourceAccess } from './http-source.js';
import { notify, type ImagePass } from './pass.js';
import { outcomes, writeImageStatus } from './status.js';
import { resolveSourceAccess } from './target.js';

/** Statuses in which an image has no usable data and never will. */
export const GONE = new Set(['deleted', 'pending_delete', 'killed']);

/** The image, if it exists and can hold data; a killed one is removed (it never will). */
export async function findImage(glance: GlanceImagesApi, id: string): Promise<GlanceImage | undefined> {
  const image = await glance.get(id);
  if (image?.status === 'killed') {
    await glance.remove(image.id);
    return undefined;
  }
  return image && !GONE.has(image.status) ? image : undefined;
}

/** What deleteImage did: deleted it, found it already gone, or kept it because `mayGo` said no. */
export type Deletion = 'deleted' | 'gone' | 'kept';

/** Deletes the image, unprotecting it first, if `mayGo` (ownership.ts) allows it. */
export async function deleteImage(
  glance: GlanceImagesApi,
  id: string,
  mayGo: (image: GlanceImage) => boolean,
): Promise<Deletion> {
  const image = await glance.get(id);
  if (!image) return 'gone';
  if (!mayGo(image)) return 'kept';
  if (image.protected) await glance.patch(id, [{ op: 'replace', path: '/protected', value: false }]);
  return (await glance.remove(id)) ? 'deleted' : 'gone';
}

/**
 * How to reach the source, resolved before an image is created in Glance, Glance is asked to fetch anything or
 * a transfer starts: a source, checksum file or proxy the operator's URL policy does not allow (Stalled,
 * SourceNotAllowed), or a Secret or ConfigMap it names that cannot be used (SecretNotAllowed, SecretNotFound,
 * ...), stops the Image with nothing left behind in Glance. Each connection is checked again.
 */
export async function resolveSource(pass: ImagePass): Promise<SourceAccess> {
  const { spec, obj, deps } = pass;
  const { url, checksumURL, proxy } = spec.source;
  for (const u of [url, checksumURL, proxy]) if (u) await deps.urlPolicy.check(new URL(u));
  return resolveSourceAccess(deps.kube, obj.metadata.namespace, spec.source, deps.urlPolicy);
}

/**
 * Creates the image (or the replacement, `slot`) under an id recorded in the status first, so that a crash
 * between the two finds the image again instead of making a second one. Glance never reuses an id (409): a
 * fresh one is drawn.
 */
export async function createImage(pass: ImagePass, slot: 'imageID' | 'pendingImageID'): Promise<GlanceImage> {
  const { obj, spec, status, glance } = pass;
  await resolveSource(pass);
  for (let tries = 0; tries < 2; tries++) {
    let id = status[slot];
    if (!id || tries > 0) {
      id = randomUUID();
      status[slot] = id;
      // The content hash describes the served image's data, which a replacement does not change.
      if (slot === 'imageID') status.contentHash = undefined;
      Object.assign(status, { attempts: 0, progress: undefined, method: undefined, failedFor: undefined });
      await writeImageStatus(pass.deps.kube, obj, status, outcomes.creating(slot === 'pendingImageID'));
    }
    const created = await glance.create(createBody(id, spec, obj.metadata.name, obj.metadata.uid));
    if (created) {
      await notify(pass, 'Normal', 'Created', `Created image ${created.id} in ${glance.url}`);
      return created;
    }
  }
  throw new Error('Glance refused two fresh image ids with 409');
}

/** Puts back what changed in Glance; `announce` records an Event (not for an image just created). */
export async function repairDrift(
  pass: ImagePass,
  image: GlanceImage,
  announce: boolean,
): Promise<GlanceImage> {
  const ops = driftPatch(image, pass.spec, pass.obj.metadata.name);
  if (!ops.length) return image;
  const patched = await pass.glance.patch(image.id, ops);
  if (announce) {
    await notify(pass, 'Normal', 'DriftRepaired', `Put back what changed in Glance: ${describePatch(ops)}`);
  }
  return patched;
}
