import type { ReconcileResult } from '../runtime/controller.js';
import { TerminalError } from '../runtime/errors.js';
import { Halt, type Actuator } from '../runtime/reconcile.js';
import type { ImageSpec } from '../api/image-types.js';
import { parseChecksum, recordedDigest } from './checksum.js';
import { GlanceError, type GlanceImage } from './glance-images.js';
import { createImage, findImage, GONE, repairDrift } from './operations.js';
import { findMarked } from './ownership.js';
import { notify, type ImagePass } from './pass.js';
import {
  imageToConverge,
  promoteOrphanedReplacement,
  promoteReplacement,
  retireReplaced,
} from './replacement.js';
import { outcomes, reportFailure, writeImageStatus } from './status.js';
import { completeUpload, uploadData } from './upload.js';

/**
 * status.contentHash of a found image whose data Glance says is not the declared one: never a pass's content
 * hash, so a replacement is uploaded.
 */
const OTHER_DATA = 'other-data';

/** Glance's digest of the image, when it contradicts the declared checksum (`<algorithm> <hex>`). */
function otherDataThanDeclared(image: GlanceImage, spec: ImageSpec): string | undefined {
  const expected = spec.source.checksum ? parseChecksum(spec.source.checksum) : undefined;
  const glanceHex = expected ? recordedDigest(image, expected) : null;
  return expected && glanceHex && glanceHex !== expected.hex
    ? `${expected.algorithm} ${glanceHex}, not the declared checksum`
    : undefined;
}

/**
 * The Glance image of one Image, for one pass: found by the id the status recorded (or, with none recorded, by
 * the mark of the images created for it: ownership.ts), adopted as the spec asks, or created; then its metadata
 * put back, a replacement uploaded when the source changed, and its data uploaded until it is active.
 */
export class ImageActuator implements Actuator<GlanceImage> {
  constructor(
    private readonly pass: ImagePass,
    /** Glance refused the session's token. */
    private readonly onUnauthorized: () => void,
  ) {}

  async get(): Promise<GlanceImage | undefined> {
    const { status, glance } = this.pass;
    const image = status.imageID ? await findImage(glance, status.imageID) : undefined;
    return image ?? (await promoteOrphanedReplacement(this.pass)) ?? this.findLost();
  }

  /**
   * A status that names no image (restored without it, wiped) of an Image that does not adopt: the images
   * marked with its uid take back the slots the status would have named, and nothing is uploaded again.
   */
  private async findLost(): Promise<GlanceImage | undefined> {
    const { spec, status, obj, glance } = this.pass;
    if (status.imageID || status.pendingImageID || spec.adopt) return undefined;
    const found = await findMarked(glance, obj.metadata.uid);
    if (!found) return undefined;
    const { image, pending, retired, extra } = found;
    Object.assign(status, { imageID: image.id, pendingImageID: pending?.id, retiredImageID: retired?.id });
    if (image.status === 'active' || image.status === 'deactivated') {
      // Taken as the declared data, as an adopted image is, unless Glance's digest says otherwise: then it
      // is served on while a replacement (the unfinished one found, if any) is uploaded.
      status.contentHash = otherDataThanDeclared(image, spec) ? OTHER_DATA : this.pass.contentHash;
    }
    const also = [
      pending && `replacement ${pending.id}`,
      retired && `replaced ${retired.id}`,
      extra.length > 0 && `left alone ${extra.map((i) => i.id).join(', ')}`,
    ].filter(Boolean);
    await notify(
      this.pass,
      'Normal',
      'Found',
      `Found image ${image.id} marked as this Image's; the status named none` +
        (also.length ? ` (also ${also.join('; ')})` : ''),
    );
    return image;
  }

  /** Only before the Image ever had an image of its own: one deleted by hand later is uploaded again. */
  async adopt(): Promise<GlanceImage | Halt | undefined> {
    const { spec, status, obj, deps, glance } = this.pass;
    const adopt = spec.adopt;
    if (status.imageID || !adopt) return undefined;
    let found: GlanceImage | undefined;
    if (adopt.imageID) found = await glance.get(adopt.imageID);
    else {
      const named = await glance.findByName(spec.name ?? obj.metadata.name);
      found = named.length === 1 ? named[0] : undefined;
    }
    if (!found || GONE.has(found.status)) {
      const message = adopt.imageID
        ? `image ${adopt.imageID} to adopt does not exist`
        : `no single image named ${spec.name ?? obj.metadata.name} to adopt`;
      await writeImageStatus(deps.kube, obj, status, outcomes.adoptionFailed(message));
      return new Halt({ requeueAfterMs: deps.stalledRetryMs });
    }
    status.imageID = found.id;
    // An adopted image with data is taken as the declared content; a checksum Glance can compare is checked.
    if (found.status === 'active') {
      const other = otherDataThanDeclared(found, spec);
      if (other) throw new TerminalError('AdoptedImageMismatch', `image ${found.id} has ${other}`);
      status.contentHash = this.pass.contentHash;
    }
    await notify(this.pass, 'Normal', 'Adopted', `Adopted existing image ${found.id}`);
    return found;
  }

  async create(): Promise<GlanceImage> {
    const { status, deps, obj, log } = this.pass;
    if (status.imageID) {
      await notify(
        this.pass,
        'Warning',
        'ImageMissing',
        `Image ${status.imageID} is gone from Glance; uploading again`,
      );
    }
    deps.transfers.cancel(obj.metadata.uid);
    const image = await createImage(this.pass, 'imageID');
    log.info({ imageID: image.id }, 'created the Glance image');
    return image;
  }

  async update(served: GlanceImage): Promise<ReconcileResult> {
    const repaired = await repairDrift(this.pass, served, !!this.pass.status.contentHash);
    const image = await imageToConverge(this.pass, repaired);
    if (image.status === 'active' || image.status === 'deactivated') return this.ready(image);
    return uploadData(this.pass, image);
  }

  failed(err: unknown): Promise<ReconcileResult> {
    if (err instanceof GlanceError && err.status === 401) this.onUnauthorized();
    const { deps, obj, status, log } = this.pass;
    return reportFailure(deps, obj, status, err, log);
  }

  /** The image has its data: Ready, with what Glance recorded of it. */
  private async ready(image: GlanceImage): Promise<ReconcileResult> {
    const { status, deps, obj } = this.pass;
    await completeUpload(this.pass, image);
    await promoteReplacement(this.pass, image);
    status.contentHash = this.pass.contentHash;
    status.failedFor = undefined;
    status.lastError = undefined;
    Object.assign(status, {
      size: image.size ?? undefined,
      virtualSize: image.virtual_size ?? undefined,
      checksum: image.checksum ?? undefined,
      osHashAlgo: image.os_hash_algo ?? undefined,
      osHashValue: image.os_hash_value ?? undefined,
    });
    if (status.progress) {
      const total = status.progress.total ?? status.progress.bytes;
      status.progress = { bytes: total, total, percent: 100 };
    }
    const ready = outcomes.ready(image);
    await writeImageStatus(deps.kube, obj, status, ready);
    if (await retireReplaced(this.pass, image)) await writeImageStatus(deps.kube, obj, status, ready);
    return { requeueAfterMs: deps.resyncMs };
  }
}
