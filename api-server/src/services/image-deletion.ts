import type { Logger } from 'pino';
import type { RequestContext } from '../domain/request-context.js';
import type { ImageCache } from '../cache/image-cache.js';
import type { ImageRepository } from '../db/image-repo.js';
import { Conflict, Forbidden, NotFound } from '../domain/errors.js';
import { deletedStatus } from '../domain/status.js';
import type { ImageRecord } from '../domain/types.js';
import { StageHostUnavailable, type StageHosts } from '../import/stage-host.js';
import type { StagingArea } from '../import/staging.js';
import { StoreError } from '../store/errors.js';
import { StoreConflictError } from '../store/rbd-errors.js';
import type { StoreRegistry } from '../store/registry.js';
import type { ImageAccess } from './image-access.js';
import type { ImageEvents } from './image-events.js';

export interface ImageDeletionDeps {
  access: ImageAccess;
  images: ImageRepository;
  stores: StoreRegistry;
  /** The image cache, which drops a deleted image's data. */
  cache: ImageCache | null;
  /** Where staged data lives: here (removed with the image), or on the worker a delete is proxied to. */
  staging: StagingArea;
  stageHosts: StageHosts;
  events: ImageEvents;
}

/**
 * Deleting an image (upstream's images.py delete) and one store's copy of its data (delete_from_store): the
 * data first, then the rows, so that data a store refuses to give up keeps its image.
 */
export class ImageDeletion {
  constructor(private readonly deps: ImageDeletionDeps) {}

  /**
   * DELETE /v2/images/{id}. An image staged on another worker is deleted there (its request id is returned),
   * so that its staged data goes too.
   */
  async remove(
    ctx: RequestContext,
    imageId: string,
    path: string,
    log: Logger,
  ): Promise<{ remoteRequestId: string | null }> {
    const { access, images, stageHosts } = this.deps;
    const notFound = (id: string): string => `Failed to find image ${id} to delete`;
    const found = await access.find(ctx, imageId, notFound);
    access.enforceMutation(ctx, 'delete_image', found);
    const stageHost = stageHosts.holderOf(found.image);
    if (stageHost !== null) {
      // If the worker holding the staged data cannot be reached, the image is deleted here all the same
      // (leaving the residue), as upstream does.
      try {
        const remoteRequestId = await stageHosts.proxy(
          stageHost,
          { method: 'DELETE', path, authToken: ctx.authToken },
          log,
        );
        return { remoteRequestId };
      } catch (err) {
        if (!(err instanceof StageHostUnavailable)) throw err;
        if ((await images.get(found.image.id)) === null) throw new NotFound(notFound(found.image.id));
      }
    }
    deletedStatus(found.image, false);
    await this.deps.staging.remove(found.image.id);
    // Upstream removes the data first: when a store refuses (a clone of an rbd snapshot), the image stays.
    for (const loc of found.image.locations.filter((l) => l.status === 'active')) {
      try {
        await this.removeLocationData(found.image, loc);
      } catch (err) {
        if (!(err instanceof StoreConflictError)) throw err;
        log.warn({ imageId: found.image.id, reason: err.kind }, 'image data in use: not deleted');
        throw new Conflict(
          err.kind === 'in-use'
            ? `Image ${found.image.id} could not be deleted because it is in use: ${err.message}`
            : err.message,
        );
      }
    }
    const locations = await images.softDelete(found.image.id);
    if (locations === null) throw new NotFound(notFound(found.image.id));
    this.deps.events.deleted(found.image, new Date());
    await this.deps.cache?.forget(found.image.id);
    log.info({ imageId: found.image.id }, 'image deleted');
    return { remoteRequestId: null };
  }

  /** DELETE /v2/stores/{store}/{image}: upstream's delete_from_store (multistore only). */
  async removeFromStore(ctx: RequestContext, storeId: string, imageId: string, log: Logger): Promise<void> {
    const { access, stores } = this.deps;
    if (!stores.multistore) throw new NotFound();
    if (!stores.byId(storeId)) {
      throw new Conflict(`The selected store ${storeId} is not available on this node.`);
    }
    const found = await access.find(ctx, imageId, (id) => `Failed to find image ${id}`);
    access.enforce(ctx, 'get_image_location', found);
    access.enforceMutation(ctx, 'delete_image_location', found);
    const image = found.image;
    if (image.status !== 'active') {
      throw new Conflict("It's not allowed to remove image data from store if image status is not 'active'");
    }
    const active = image.locations.filter((l) => l.status === 'active');
    if (active.length === 1) {
      throw new Forbidden(
        'Cannot delete image data from the only store containing it. Consider deleting the image instead.',
      );
    }
    const loc = active.find((l) => l.metadata.store === storeId);
    if (!loc) throw new NotFound(`Image ${image.id} is not stored in store ${storeId}.`);
    try {
      await this.removeLocationData(image, loc);
    } catch (err) {
      if (!(err instanceof StoreConflictError)) throw err;
      throw new Conflict(
        err.kind === 'in-use'
          ? `The data for Image ${image.id} could not be deleted because it is in use: ${err.message}`
          : err.message,
      );
    }
    log.info({ imageId: image.id, store: storeId }, 'image data removed from a store');
  }

  /**
   * Removes one location's data (safe_delete_from_backend) and then its row. Data already gone, or held by a
   * store this server does not have, is not an error; a clone or snapshot keeping the data is (409).
   */
  private async removeLocationData(image: ImageRecord, loc: ImageRecord['locations'][number]): Promise<void> {
    const entry = this.deps.stores.forLocation(loc);
    if (entry) {
      try {
        await entry.store.delete(loc.url);
      } catch (err) {
        if (!(err instanceof StoreError && err.kind === 'not-found')) throw err;
      }
    }
    await this.deps.images.deleteLocation(image.id, loc.id);
  }
}
