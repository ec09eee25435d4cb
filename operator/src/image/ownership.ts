import {
  deletionPolicyOf,
  IMAGE_MARK_PROPERTY,
  type ImageObject,
  type ImageSpec,
} from '../api/image-types.js';
import { GONE } from './operations.js';
import type { GlanceImage, GlanceImagesApi } from './glance-images.js';

/*
 * Which Glance images are an Image's own: those the operator created for it carry its uid in the property
 * IMAGE_MARK_PROPERTY, set in the create request itself (drift.ts). The owner of an image may write its
 * properties, so the mark only finds images of the Image's own project and only decides what may be deleted;
 * it grants nothing else.
 */

/** Marked as this Image's, in the project the Image's credentials act for. */
export function isMarked(image: GlanceImage, uid: string, projectId: string): boolean {
  return image[IMAGE_MARK_PROPERTY] === uid && image.owner === projectId;
}

/** What an Image with a lost status finds again, in the slots its status would have named. */
export interface FoundImages {
  /** The image to serve: the newest active one, else the newest one. */
  image: GlanceImage;
  /** Beside an active one: the newest unfinished one, the replacement that was being uploaded. */
  pending?: GlanceImage;
  /** Beside an active one: an older active one, which its replacement would have retired. */
  retired?: GlanceImage;
  /** Anything beyond those slots: left alone, named in the Event. */
  extra: GlanceImage[];
}

/**
 * The images marked with this uid, sorted into the slots of a status: at most one image, one pending
 * replacement and one retired image, as a replacement leaves them at any point. Undefined when none is marked.
 */
export async function findMarked(glance: GlanceImagesApi, uid: string): Promise<FoundImages | undefined> {
  const byId = new Map<string, GlanceImage>();
  for (const i of await glance.findByProperty(IMAGE_MARK_PROPERTY, uid)) {
    if (isMarked(i, uid, glance.projectId) && !GONE.has(i.status)) byId.set(i.id, i);
  }
  const marked = [...byId.values()].sort((a, b) => (b.created_at ?? '').localeCompare(a.created_at ?? ''));
  const hasData = (i: GlanceImage) => i.status === 'active' || i.status === 'deactivated';
  const image = marked.find(hasData) ?? marked[0];
  if (!image) return undefined;
  const rest = marked.filter((i) => i !== image);
  const pending = hasData(image) ? rest.find((i) => !hasData(i)) : undefined;
  const retired = hasData(image) ? rest.find(hasData) : undefined;
  return { image, pending, retired, extra: rest.filter((i) => i !== pending && i !== retired) };
}

/** Why an image under deletionPolicy Delete was left, for an Event. */
export const NOT_OWNED =
  `it does not carry this Image's mark (${IMAGE_MARK_PROPERTY}), ` + 'so the operator did not create it';

/** Whose images are being decided on: the Image (uid, spec, name) and the project its credentials act for. */
export interface ImageOwner {
  uid: string;
  projectId: string;
  spec: ImageSpec;
  /** The Glance name the spec declares (spec.name, else metadata.name). */
  declaredName: string;
}

export function ownerOf(obj: ImageObject, spec: ImageSpec, glance: GlanceImagesApi): ImageOwner {
  return {
    uid: obj.metadata.uid,
    projectId: glance.projectId,
    spec,
    declaredName: spec.name ?? obj.metadata.name,
  };
}

/**
 * Whether deletionPolicy lets the operator delete this image of the Image: one marked as its own under Delete,
 * or, when deletionPolicy Delete is set explicitly, the image it adopted.
 */
export function mayDelete(image: GlanceImage, owner: ImageOwner): boolean {
  const { spec } = owner;
  if (deletionPolicyOf(spec) !== 'Delete') return false;
  if (isMarked(image, owner.uid, owner.projectId)) return true;
  // Only an explicit Delete reaches here with adopt set: the author asks for the adopted image to go.
  const adopt = spec.adopt;
  if (!adopt) return false;
  return adopt.imageID ? image.id === adopt.imageID : image.name === owner.declaredName;
}
