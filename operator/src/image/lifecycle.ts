import type { ReconcileResult } from '../runtime/controller.js';
import { TerminalError } from '../runtime/errors.js';
import { Halt, type Actuator } from '../runtime/reconcile.js';
import { parseChecksum, recordedDigest } from './checksum.js';
import { GlanceError, type GlanceImage } from './glance-images.js';
import { createImage, findImage, GONE, repairDrift } from './operations.js';
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
 * The Glance image of one Image, for one pass: found by the id the status recorded, adopted as the spec asks,
 * or created; then its metadata put back, a replacement uploaded when the source changed, and its data
 * uploaded until it is active.
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
    return image ?? promoteOrphanedReplacement(this.pass);
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
      const expected = spec.source.checksum ? parseChecksum(spec.source.checksum) : undefined;
      const glanceHex = expected ? recordedDigest(found, expected) : null;
      if (expected && glanceHex && glanceHex !== expected.hex) {
        throw new TerminalError(
          'AdoptedImageMismatch',
          `image ${found.id} has ${expected.algorithm} ${glanceHex}, not the declared checksum`,
        );
      }
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
