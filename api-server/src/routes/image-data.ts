import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import type { Request, Response, Router } from 'express';
import type { RequestContext } from '../auth/context.js';
import type { ImageCache } from '../cache/image-cache.js';
import type { ImageRepository } from '../db/image-repo.js';
import { checkStatusTransition } from '../domain/status.js';
import { HttpError } from '../http/errors.js';
import { requestContext, requestLocals } from '../http/locals.js';
import { requestedSpan } from '../http/range.js';
import { sendNoContent } from '../http/respond.js';
import { sendBody } from '../http/send-body.js';
import { param, route } from '../http/routing.js';
import { StoreError } from '../store/errors.js';
import { ingestImageData, type IngestResult } from '../store/ingest.js';
import { IMAGE_TOO_LARGE } from '../store/limit.js';
import { NO_QUOTAS, type Quotas } from '../quota/quotas.js';
import { readLocations } from '../store/read-locations.js';
import type { StoreEntry, StoreRegistry } from '../store/registry.js';
import type { ImageAccess, VisibleImage } from './image-access.js';

export interface DataRouteOptions {
  /** [DEFAULT] image_size_cap in bytes. */
  imageSizeCap: number;
  /** [DEFAULT] user_storage_quota in bytes; 0 means no quota. */
  userStorageQuota: number;
  /** [DEFAULT] hashing_algorithm. */
  hashingAlgorithm: string;
  /** Keystone unified limits (image_size_total, image_count_uploading); none by default. */
  quotas?: Quotas;
  /** The image cache, when it serves downloads (upstream's cache middleware). */
  cache?: ImageCache | null;
}

// The request body is left unread: the client must not send it on this connection.
const closing = (err: HttpError) => new HttpError(err.status, err.explanation, { Connection: 'close' });

function declaredLength(req: IncomingMessage): number | null {
  const raw = req.headers['content-length'];
  return raw === undefined ? null : Number(raw);
}

function quotaExceeded(size: number | null, remaining: number): HttpError {
  return new HttpError(
    413,
    `Image exceeds the storage quota: The size of the data ${size ?? 'None'} will exceed the limit. ` +
      `${remaining} bytes remaining.`,
    { Connection: 'close' },
  );
}

/** Upstream's texts for glance_store failures while writing. */
export function storeFailure(err: StoreError, imageId: string): HttpError {
  switch (err.kind) {
    case 'storage-full':
      return new HttpError(413, `Image storage media is full: ${err.message}`);
    case 'write-denied':
      return new HttpError(503, `Insufficient permissions on image storage media: ${err.message}`);
    case 'duplicate':
      return new HttpError(409, `The image ${imageId} already has data in the store`);
    case 'add-disabled':
      return new HttpError(410, 'Error in store configuration. Adding images to store is disabled.');
    case 'unavailable':
      return new HttpError(503, err.message);
    default:
      return new HttpError(500);
  }
}

/**
 * Hands the request body to `consume` as a stream. The request is piped rather than owned by the consumer's
 * pipeline, so a refusal half-way leaves the connection able to carry the error response; the unread rest of
 * the body is then discarded. A client that disconnects early makes the stream fail.
 */
export async function receiveRequestBody<T>(
  req: IncomingMessage,
  consume: (body: NodeJS.ReadableStream) => Promise<T>,
): Promise<T> {
  const intake = new PassThrough();
  const onError = (err: Error): void => {
    intake.destroy(err);
  };
  const onClose = (): void => {
    if (!req.complete) intake.destroy(new Error('the client closed the connection during the upload'));
  };
  req.once('error', onError);
  req.once('close', onClose);
  req.pipe(intake);
  try {
    return await consume(intake);
  } catch (err) {
    req.unpipe(intake);
    req.resume();
    throw err;
  } finally {
    req.off('error', onError);
    req.off('close', onClose);
  }
}

/** PUT and GET /v2/images/{id}/file (upstream's image_data.py upload and download). */
export function mountImageData(
  router: Router,
  access: ImageAccess,
  images: ImageRepository,
  stores: StoreRegistry,
  opts: DataRouteOptions,
): void {
  /** Under multistore, x-image-meta-store picks the backend (400 for an unknown one), as upstream's upload. */
  const uploadStore = (req: Request): StoreEntry => {
    if (!stores.multistore) return stores.default;
    const header = req.headers['x-image-meta-store'];
    if (header === undefined) return stores.default;
    const id = Array.isArray(header) ? header.join(', ') : header;
    const entry = stores.byId(id);
    if (!entry) throw new HttpError(400, `Store for identifier ${id} not found`);
    return entry;
  };

  const authoriseUpload = (ctx: RequestContext, found: VisibleImage): void => {
    try {
      access.enforceMutation(ctx, 'upload_image', found);
    } catch (err) {
      if (err instanceof HttpError && err.explanation === 'You do not own this image') {
        throw new HttpError(403, `Not allowed to upload image data for image ${found.image.id}`);
      }
      throw err;
    }
  };

  /** Room left under user_storage_quota for this project, this image's current data not counted. */
  const quotas = opts.quotas ?? NO_QUOTAS;
  const remainingQuota = async (ctx: RequestContext, imageId: string): Promise<number | null> => {
    if (opts.userStorageQuota <= 0) return null;
    return opts.userStorageQuota - (await images.storageUsage(ctx.projectId, imageId));
  };

  const upload = async (req: Request, res: Response): Promise<void> => {
    // Upstream's deserializer checks the media type before anything else is looked up.
    const contentType = req.headers['content-type'];
    if (contentType === undefined || contentType.split(';')[0]?.trim() !== 'application/octet-stream') {
      throw new HttpError(415, `Content type ${contentType ?? 'None'} not supported`);
    }
    const ctx = requestContext(res);
    await quotas.enforce(ctx.projectId, 'image_size_total').catch((err: unknown) => {
      throw err instanceof HttpError ? closing(err) : err;
    });
    const target = uploadStore(req);
    const store = target.store;
    const { log } = requestLocals(res);
    const found = await access.find(ctx, param(req, 'imageId'));
    authoriseUpload(ctx, found);
    const image = found.image;
    const transition = checkStatusTransition(image, 'saving');
    if (!transition.ok) {
      throw new HttpError(transition.reason === 'invalid_transition' ? 409 : 400, transition.message);
    }
    const declared = declaredLength(req);
    const remaining = await remainingQuota(ctx, image.id);
    if (remaining !== null && (declared === null ? remaining <= 0 : declared > remaining)) {
      throw quotaExceeded(declared, remaining);
    }
    if (declared !== null && declared > opts.imageSizeCap) {
      throw new HttpError(413, IMAGE_TOO_LARGE, { Connection: 'close' });
    }
    // The compare-and-set makes this request the only uploader; a concurrent one finds the image saving.
    if (!(await images.transition(image.id, 'queued', 'saving'))) {
      const now = await images.get(image.id);
      throw new HttpError(
        409,
        `Image status transition from ${now?.status ?? 'deleted'} to saving is not allowed`,
      );
    }
    try {
      await quotas.enforce(ctx.projectId, 'image_count_uploading');
    } catch (err) {
      await images.transition(image.id, 'saving', 'queued');
      throw err instanceof HttpError ? closing(err) : err;
    }
    const limit =
      remaining !== null && remaining < opts.imageSizeCap
        ? { bytes: remaining, explanation: quotaExceeded(declared, remaining).explanation }
        : { bytes: opts.imageSizeCap, explanation: IMAGE_TOO_LARGE };

    let result: IngestResult;
    try {
      result = await receiveRequestBody(req, (body) =>
        ingestImageData(body, store, image, limit, opts.hashingAlgorithm, declared ?? undefined),
      );
      // Two uploads for different images of one project can each fit alone; check again with the real size.
      const after = await remainingQuota(ctx, image.id);
      if (after !== null && result.size > after) {
        await store.delete(result.location);
        throw quotaExceeded(result.size, after);
      }
    } catch (err) {
      if (!(await images.transition(image.id, 'saving', 'queued'))) {
        log.warn({ imageId: image.id }, 'upload failed and the image was no longer saving');
      }
      if (err instanceof StoreError) throw storeFailure(err, image.id);
      if (err instanceof HttpError) throw new HttpError(err.status, err.explanation, { Connection: 'close' });
      if (!req.complete) {
        log.info({ imageId: image.id, err }, 'upload aborted by the client; image back to queued');
        throw new HttpError(400, 'The upload was interrupted before all data arrived.', {
          Connection: 'close',
        });
      }
      throw err;
    }

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
      await store.delete(result.location);
      throw new HttpError(
        410,
        `Image ${image.id} could not be found after upload. The image may have been deleted during the upload, ` +
          'cleaning up the chunks uploaded.',
      );
    }
    log.info({ imageId: image.id, size: result.size }, 'image data uploaded');
    sendNoContent(res);
  };

  const download = async (req: Request, res: Response): Promise<void> => {
    const ctx = requestContext(res);
    const found = await access.find(ctx, param(req, 'imageId'));
    const image = found.image;
    if (image.status === 'deactivated' && !ctx.isAdmin) {
      throw new HttpError(403, 'The requested image has been deactivated. Image data download is forbidden.');
    }
    access.enforce(ctx, 'download_image', found);
    const locations = image.locations.filter((l) => l.status === 'active');
    if (locations.length === 0) {
      sendNoContent(res);
      return;
    }
    const first = locations[0]!;
    const size = image.size ?? (await (stores.forLocation(first) ?? stores.default).store.size(first.url));
    const span = requestedSpan(req.headers, size);
    const { log } = requestLocals(res);
    const cache = opts.cache?.servesDownloads ? opts.cache : null;
    // A hit is sent exactly as a store read would be, Range included; only a miss of the whole image fills.
    const cached = cache ? await cache.read(image, span ?? undefined) : null;
    let data: NodeJS.ReadableStream;
    if (cached !== null) {
      // Counted as the hit is served, so that a client that has the bytes sees its hit in the listing.
      await cache?.recordHit(image.id);
      data = cached;
    } else {
      try {
        data = await readLocations(stores, locations, span ?? undefined);
      } catch (err) {
        if (err instanceof StoreError && err.kind === 'not-found') {
          sendNoContent(res);
          return;
        }
        if (err instanceof StoreError && err.kind === 'unavailable') throw new HttpError(503, err.message);
        throw err;
      }
      if (cache && span === null) data = await cache.fill(image, data, log);
    }
    res.status(span ? 206 : 200);
    res.setHeader('Content-Type', 'application/octet-stream');
    if (span) res.setHeader('Content-Range', `bytes ${span.start}-${span.end}/${size}`);
    if (image.checksum) res.setHeader('Content-MD5', image.checksum);
    res.setHeader('Content-Length', String(span ? span.end - span.start + 1 : size));
    try {
      await sendBody(res, data);
    } catch (err) {
      log.warn({ imageId: image.id, err }, 'image download interrupted');
      res.destroy();
    }
  };

  route(router, '/v2/images/:imageId/file', 'GET, PUT', {
    GET: { bodyReject: true, handler: download },
    PUT: { handler: upload },
  });
}
