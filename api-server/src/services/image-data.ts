import type { Logger } from 'pino';
import type { RequestContext } from '../domain/request-context.js';
import type { ImageCache } from '../cache/image-cache.js';
import type { ImageRepository } from '../db/image-repo.js';
import {
  Conflict,
  DataLeftUnread,
  Forbidden,
  GlanceError,
  Gone,
  InternalError,
  Invalid,
  LimitExceeded,
  NotFound,
  ServiceUnavailable,
} from '../domain/errors.js';
import { nowSeconds } from '../domain/clock.js';
import { checkStatusTransition } from '../domain/status.js';
import type { ImageRecord } from '../domain/types.js';
import { STAGE_HOST } from '../import/bookkeeping.js';
import { ImageGone, type ImportRepository } from '../import/import-repo.js';
import type { StagingArea } from '../import/staging.js';
import type { QuotaResource, Quotas } from '../quota/quotas.js';
import { StoreError } from '../store/errors.js';
import { ingestImageData, type IngestResult } from '../store/ingest.js';
import { IMAGE_TOO_LARGE } from '../store/limit.js';
import { readLocations } from '../store/read-locations.js';
import type { StoreEntry, StoreRegistry } from '../store/registry.js';
import type { ByteRange } from '../store/store.js';
import { NotImageOwner, type ImageAccess, type VisibleImage } from './image-access.js';
import type { ImageEvents } from './image-events.js';

/** Image data as the API edge hands it over: the request body, read only when the service asks for it. */
export interface IncomingData {
  /** The length the client declared, null when it declared none. */
  declaredLength: number | null;
  /** Streams the data into `consume`; a client that goes away makes the stream fail. */
  receive<T>(consume: (body: NodeJS.ReadableStream) => Promise<T>): Promise<T>;
  /** Whether every byte the client meant to send has arrived. */
  complete(): boolean;
}

export interface ImageDataDeps {
  access: ImageAccess;
  images: ImageRepository;
  stores: StoreRegistry;
  imports: ImportRepository;
  staging: StagingArea;
  /** Keystone unified limits (image_size_total, image_stage_total, image_count_uploading). */
  quotas: Quotas;
  /** [DEFAULT] image_size_cap in bytes. */
  imageSizeCap: number;
  /** [DEFAULT] user_storage_quota in bytes; 0 means no quota. */
  userStorageQuota: number;
  /** [DEFAULT] hashing_algorithm. */
  hashingAlgorithm: string;
  /** The image cache, when it serves downloads (upstream's cache middleware). */
  cache?: ImageCache | null;
  /** This worker's URL, recorded on the images it stages so that other workers send their imports here. */
  selfUrl: string | null;
  events: ImageEvents;
}

/** Upstream's texts for glance_store failures while writing. */
function storeFailure(err: StoreError, imageId: string): GlanceError {
  switch (err.kind) {
    case 'storage-full':
      return new LimitExceeded(`Image storage media is full: ${err.message}`);
    case 'write-denied':
      return new ServiceUnavailable(`Insufficient permissions on image storage media: ${err.message}`);
    case 'duplicate':
      return new Conflict(`The image ${imageId} already has data in the store`);
    case 'add-disabled':
      return new Gone('Error in store configuration. Adding images to store is disabled.');
    case 'unavailable':
      return new ServiceUnavailable(err.message);
    default:
      return new InternalError();
  }
}

function quotaExceededMessage(size: number | null, remaining: number): string {
  return (
    `Image exceeds the storage quota: The size of the data ${size ?? 'None'} will exceed the limit. ` +
    `${remaining} bytes remaining.`
  );
}

/** How upstream's notifier (ImageProxy.set_data) names a failure to store an upload. */
const unread = (err: unknown): unknown => (err instanceof GlanceError ? new DataLeftUnread(err) : err);

/** What a download sends: `data` is the whole image of `size` bytes, or the `span` of it asked for. */
export interface Download {
  image: ImageRecord;
  data: NodeJS.ReadableStream;
  size: number;
  span: ByteRange | null;
}

/** How one way of receiving data differs from the other. */
interface Receipt<T> {
  /** The status the image holds while its data arrives (taken from queued by compare-and-set). */
  status: 'saving' | 'uploading';
  /** For the logs: 'upload' or 'staging'. */
  what: string;
  /** Reads the data and keeps it; runs while the image holds `status` (`image` as it is now). */
  write(data: IncomingData, image: ImageRecord): Promise<T>;
  /** The domain error for a store's failure to keep the data. */
  storeFailure(err: StoreError): GlanceError;
  /** Told why the data was not kept, before the image goes back to queued. */
  failed?(err: unknown): void;
}

/**
 * An image's data, out (upstream's image_data.py download) and in: its upload (into a store) and stage (into
 * staging) share one way of receiving it, with the quota checks, the compare-and-set from queued that makes one
 * request the only writer, the image put back to queued when the data does not all arrive, and the data
 * streamed through the size limit, never buffered.
 */
export class ImageDataService {
  constructor(private readonly deps: ImageDataDeps) {}

  /** PUT /v2/images/{id}/file: the data into `storeId` (multistore's x-image-meta-store) or the default store. */
  async upload(
    ctx: RequestContext,
    imageId: string,
    storeId: string | undefined,
    data: IncomingData,
    log: Logger,
  ): Promise<void> {
    const { access, images, stores, imageSizeCap } = this.deps;
    await this.enforceQuota(ctx, 'image_size_total');
    const target = this.uploadStore(storeId);
    const found = await access.find(ctx, imageId);
    this.authoriseUpload(ctx, found);
    const image = found.image;
    const transition = checkStatusTransition(image, 'saving');
    if (!transition.ok) {
      throw transition.reason === 'invalid_transition'
        ? new Conflict(transition.message)
        : new Invalid(transition.message);
    }
    const declared = data.declaredLength;
    const remaining = await this.remainingStorage(ctx, image.id);
    if (remaining !== null && (declared === null ? remaining <= 0 : declared > remaining)) {
      throw new DataLeftUnread(new LimitExceeded(quotaExceededMessage(declared, remaining)));
    }
    if (declared !== null && declared > imageSizeCap) {
      throw new DataLeftUnread(new LimitExceeded(IMAGE_TOO_LARGE));
    }
    const limit =
      remaining !== null && remaining < imageSizeCap
        ? { bytes: remaining, explanation: quotaExceededMessage(declared, remaining) }
        : { bytes: imageSizeCap, explanation: IMAGE_TOO_LARGE };

    const backend = stores.multistore ? target.id : null;
    const result = await this.receive<IngestResult>(ctx, image, log, data, {
      status: 'saving',
      what: 'upload',
      write: async (incoming, saving) => {
        this.deps.events.preparing(saving, backend);
        const ingested = await incoming.receive((body) =>
          ingestImageData(
            body,
            target.store,
            image,
            limit,
            this.deps.hashingAlgorithm,
            declared ?? undefined,
          ),
        );
        // Two uploads for different images of one project can each fit alone; check again with the real size.
        const after = await this.remainingStorage(ctx, image.id);
        if (after !== null && ingested.size > after) {
          await target.store.delete(ingested.location);
          throw new LimitExceeded(quotaExceededMessage(ingested.size, after));
        }
        return ingested;
      },
      storeFailure: (err) => storeFailure(err, image.id),
      failed: (err) => this.deps.events.uploadFailedWith(image.id, err),
    });

    const saved = await images.completeUpload(image.id, {
      size: result.size,
      checksum: result.md5,
      osHashAlgo: result.osHashAlgo,
      osHashValue: result.osHashValue,
      virtualSize: result.virtualSize,
      location: result.location,
      locationMetadata: stores.multistore ? { store: target.id } : {},
    });
    if (!saved) {
      await target.store.delete(result.location);
      throw new Gone(
        `Image ${image.id} could not be found after upload. The image may have been deleted during the upload, ` +
          'cleaning up the chunks uploaded.',
      );
    }
    log.info({ imageId: image.id, size: result.size }, 'image data uploaded');
    this.deps.events.uploaded(saved, backend, image.status !== 'active');
  }

  /** PUT /v2/images/{id}/stage: the data into staging, for a later glance-direct import. */
  async stage(ctx: RequestContext, imageId: string, data: IncomingData, log: Logger): Promise<void> {
    const { access, staging, imports, imageSizeCap, selfUrl } = this.deps;
    await this.enforceQuota(ctx, 'image_stage_total');
    const found = await access.find(ctx, imageId);
    access.enforceMutation(ctx, 'modify_image', found);
    const image = found.image;
    const transition = checkStatusTransition(image, 'uploading');
    if (!transition.ok) throw new Conflict(transition.message);

    const { size } = await this.receive(ctx, image, log, data, {
      status: 'uploading',
      what: 'staging',
      write: (incoming) =>
        incoming.receive((body) =>
          staging.write(image.id, body, { bytes: imageSizeCap, explanation: IMAGE_TOO_LARGE }),
        ),
      storeFailure: (err) =>
        err.kind === 'duplicate'
          ? new Conflict(`The image ${image.id} has data on staging`)
          : storeFailure(err, image.id),
    });
    try {
      await imports.change(image.id, null, (current) => {
        if (current.status !== 'uploading') {
          throw new Conflict(`Image status transition from ${current.status} to uploading is not allowed`);
        }
        // Other workers send the import of this image here, where its data is.
        return { size, ...(selfUrl ? { setProperties: { [STAGE_HOST]: selfUrl } } : {}) };
      });
    } catch (err) {
      if (!(err instanceof ImageGone)) throw err;
      await staging.remove(image.id);
      throw new NotFound(`No image found with ID ${image.id}`);
    }
    await this.notifyUpdate(image.id);
    log.info({ imageId: image.id, size }, 'image data staged');
  }

  /**
   * The skeleton both share: queued → `status` by compare-and-set, the uploading-images quota, then the data;
   * any failure from there on puts the image back to queued.
   */
  private async receive<T>(
    ctx: RequestContext,
    image: ImageRecord,
    log: Logger,
    data: IncomingData,
    receipt: Receipt<T>,
  ): Promise<T> {
    const { images } = this.deps;
    const { status, what } = receipt;
    // The compare-and-set makes this request the only writer; a concurrent one finds the image already moved.
    const movedAt = nowSeconds();
    if (!(await images.transition(image.id, 'queued', status, movedAt))) {
      const now = await images.get(image.id);
      throw new Conflict(
        `Image status transition from ${now?.status ?? 'deleted'} to ${status} is not allowed`,
      );
    }
    // What the compare-and-set wrote, known without reading the row again.
    const moved: ImageRecord = { ...image, status, updated_at: movedAt };
    this.deps.events.updated(moved);
    const restore = async (): Promise<void> => {
      const restoredAt = nowSeconds();
      if (!(await images.transition(image.id, status, 'queued', restoredAt))) {
        log.warn({ imageId: image.id }, `${what} failed and the image was no longer ${status}`);
        return;
      }
      this.deps.events.updated({
        ...image,
        status: 'queued',
        updated_at: restoredAt,
        size: null,
        virtual_size: null,
      });
    };
    try {
      await this.deps.quotas.enforce(ctx.projectId, 'image_count_uploading');
    } catch (err) {
      await restore();
      throw unread(err);
    }
    try {
      return await receipt.write(data, moved);
    } catch (err) {
      receipt.failed?.(err);
      await restore();
      if (err instanceof StoreError) throw receipt.storeFailure(err);
      if (err instanceof GlanceError) throw new DataLeftUnread(err);
      if (!data.complete()) {
        log.info({ imageId: image.id, err }, `${what} aborted by the client; image back to queued`);
        throw new DataLeftUnread(new Invalid('The upload was interrupted before all data arrived.'));
      }
      throw err;
    }
  }

  /**
   * GET /v2/images/{id}/file: the image's data (the span `rangeOf` picks of it, if any), from the cache when it
   * serves downloads and has it, else from the stores; null when the image has no data to send.
   */
  async download(
    ctx: RequestContext,
    imageId: string,
    rangeOf: (size: number) => ByteRange | null,
    log: Logger,
  ): Promise<Download | null> {
    const { access, stores } = this.deps;
    const found = await access.find(ctx, imageId);
    const image = found.image;
    if (image.status === 'deactivated' && !ctx.isAdmin) {
      throw new Forbidden('The requested image has been deactivated. Image data download is forbidden.');
    }
    access.enforce(ctx, 'download_image', found);
    const locations = image.locations.filter((l) => l.status === 'active');
    if (locations.length === 0) return null;
    const first = locations[0]!;
    const size = image.size ?? (await (stores.forLocation(first) ?? stores.default).store.size(first.url));
    const span = rangeOf(size);
    const cache = this.deps.cache?.servesDownloads ? this.deps.cache : null;
    // A hit is sent exactly as a store read would be, Range included; only a miss of the whole image fills.
    const cached = cache ? await cache.read(image, span ?? undefined) : null;
    if (cached !== null) {
      // Counted as the hit is served, so that a client that has the bytes sees its hit in the listing.
      await cache?.recordHit(image.id);
      return { image, data: cached, size, span };
    }
    let data: NodeJS.ReadableStream;
    try {
      data = await readLocations(stores, locations, span ?? undefined);
    } catch (err) {
      if (err instanceof StoreError && err.kind === 'not-found') return null;
      if (err instanceof StoreError && err.kind === 'unavailable') throw new ServiceUnavailable(err.message);
      throw err;
    }
    if (cache && span === null) data = await cache.fill(image, data, log);
    return { image, data, size, span };
  }

  /** Every save of an image is an image.update upstream; the row is read again only when that is sent. */
  private async notifyUpdate(imageId: string): Promise<void> {
    const { events, images } = this.deps;
    if (!events.wants('image.update')) return;
    const image = await images.get(imageId);
    if (image) events.updated(image);
  }

  /** image.send, once a download's body went out whole (upstream sends nothing for one cut short). */
  downloaded(ctx: RequestContext, image: ImageRecord, bytes: number): void {
    this.deps.events.sent({
      imageId: image.id,
      ownerId: image.owner,
      receiverTenantId: ctx.projectId,
      receiverUserId: ctx.userId,
      bytesSent: bytes,
      expectedBytes: bytes,
    });
  }

  /** A Keystone limit checked before any data is read. */
  private async enforceQuota(ctx: RequestContext, resource: QuotaResource): Promise<void> {
    await this.deps.quotas.enforce(ctx.projectId, resource).catch((err: unknown) => {
      throw unread(err);
    });
  }

  /** Under multistore, x-image-meta-store picks the backend (Invalid for an unknown one), as upstream's upload. */
  private uploadStore(storeId: string | undefined): StoreEntry {
    const { stores } = this.deps;
    if (!stores.multistore || storeId === undefined) return stores.default;
    const entry = stores.byId(storeId);
    if (!entry) throw new Invalid(`Store for identifier ${storeId} not found`);
    return entry;
  }

  private authoriseUpload(ctx: RequestContext, found: VisibleImage): void {
    try {
      this.deps.access.enforceMutation(ctx, 'upload_image', found);
    } catch (err) {
      if (err instanceof NotImageOwner) {
        throw new Forbidden(`Not allowed to upload image data for image ${found.image.id}`);
      }
      throw err;
    }
  }

  /** Room left under user_storage_quota for this project, this image's current data not counted. */
  private async remainingStorage(ctx: RequestContext, imageId: string): Promise<number | null> {
    const { userStorageQuota, images } = this.deps;
    if (userStorageQuota <= 0) return null;
    return userStorageQuota - (await images.storageUsage(ctx.projectId, imageId));
  }
}
