import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { RequestContext } from '../domain/request-context.js';
import type { Policy, PolicyTarget } from '../auth/policy.js';
import type { ImageCache } from '../cache/image-cache.js';
import type { ImageRepository } from '../db/image-repo.js';
import { parseCreateBody, type CreateTarget } from '../domain/create.js';
import { applyPatch, type PatchAuthorization, type PatchOp } from '../domain/patch.js';
import type { ImagePage } from '../domain/represent.js';
import { deactivatedStatus, reactivatedStatus } from '../domain/status.js';
import type { DomainConfig, ImageRecord, ImageStatus, ListQuery } from '../domain/types.js';
import { Conflict, Forbidden, NotFound } from '../domain/errors.js';
import type { ImportFiltering } from '../net/uri-filter.js';
import { NO_QUOTAS, type Quotas } from '../quota/quotas.js';
import type { StoreRegistry } from '../store/registry.js';
import type { ImageAccess, VisibleImage } from './image-access.js';
import type { ImageEvents } from './image-events.js';
import { LocationRules } from './image-locations.js';

export interface ImagesDeps {
  access: ImageAccess;
  images: ImageRepository;
  stores: StoreRegistry;
  /** [import_filtering_opts], which http(s) locations must pass. */
  filtering: ImportFiltering;
  policy: Policy;
  domain: DomainConfig;
  /** Keystone unified limits (image_count_total); none by default. */
  quotas?: Quotas;
  /** The image cache, which drops a deactivated image's data; none by default. */
  cache?: ImageCache | null;
  events: ImageEvents;
}

/**
 * Images themselves (upstream's images.py index, create, show and update, and image_actions.py): who may list,
 * create, see, change, deactivate and reactivate them, and the writes that follow.
 */
export class Images {
  readonly #locations: LocationRules;

  constructor(private readonly deps: ImagesDeps) {
    this.#locations = new LocationRules({ stores: deps.stores, filtering: deps.filtering });
  }

  /** GET /v2/images: one page of `query`, less the images policy then hides. */
  async list(ctx: RequestContext, query: ListQuery): Promise<ImagePage> {
    const { access, images, policy } = this.deps;
    policy.enforce(ctx, 'get_images', { owner: ctx.projectId });
    const marker = query.marker === null ? null : await access.marker(ctx, query.marker);
    const page = await images.list(ctx, query, marker);
    const shown: ImageRecord[] = [];
    for (const image of page) {
      if (access.check(ctx, 'get_image', { image })) shown.push(image);
    }
    // The page was full in the database even if policy then hid some images: there may be more.
    const last = shown[shown.length - 1];
    return { images: shown, nextMarker: page.length === query.limit && last ? last.id : null };
  }

  /** POST /v2/images: `body` read as upstream's deserializer does, authorised, counted, then written. */
  async create(ctx: RequestContext, body: unknown, log: Logger): Promise<ImageRecord> {
    const { images, policy, domain } = this.deps;
    const changes = parseCreateBody(body, ctx, {
      config: domain,
      authorize: (target: CreateTarget) => {
        const policyTarget = { owner: target.owner, visibility: target.visibility };
        try {
          policy.enforce(ctx, 'add_image', policyTarget);
        } catch (err) {
          if (err instanceof Forbidden && target.owner !== ctx.projectId) {
            throw new Forbidden(
              `You are not permitted to create images owned by '${target.owner ?? 'None'}'`,
            );
          }
          throw err;
        }
        this.enforceVisibility(ctx, target.visibility, policyTarget);
      },
    });
    // Counted against the caller's project, whoever is to own the image (upstream's context.owner).
    await (this.deps.quotas ?? NO_QUOTAS).enforce(ctx.projectId, 'image_count_total', 1);
    const image = await images.create(changes.id ?? randomUUID(), changes);
    log.info({ imageId: image.id }, 'image created');
    this.deps.events.created(image);
    return image;
  }

  /** GET /v2/images/{id}. */
  async get(ctx: RequestContext, imageId: string): Promise<ImageRecord> {
    const { access } = this.deps;
    const found = await access.find(ctx, imageId);
    access.enforce(ctx, 'get_image', found);
    return found.image;
  }

  /**
   * PATCH /v2/images/{id} with operations already parsed: each authorised as it applies, then the image saved
   * whenever there were any (which bumps updated_at, as upstream), its new locations checked against the stores.
   */
  async update(ctx: RequestContext, imageId: string, ops: PatchOp[], log: Logger): Promise<ImageRecord> {
    const { access, images, domain } = this.deps;
    const found = await access.find(ctx, imageId);
    const changes = applyPatch(found.image, ops, ctx, {
      config: domain,
      authorize: (check) => this.authorizePatch(ctx, found, check),
    });
    const image = found.image;
    if (ops.length === 0) return image;
    const locations =
      changes.locations.length > 0 ? await this.#locations.apply(image, changes.locations, log) : undefined;
    const saved = await images.update(image.id, changes, locations);
    if (!saved) throw new NotFound(`No image found with ID ${image.id}`);
    this.deps.events.updated(saved);
    return saved;
  }

  /** POST /v2/images/{id}/actions/deactivate: an active image's data is no longer served, nor kept cached. */
  async deactivate(ctx: RequestContext, imageId: string): Promise<void> {
    const id = await this.transition(ctx, imageId, 'deactivate', 'active', deactivatedStatus);
    if (id !== null) await this.deps.cache?.forget(id);
  }

  /** POST /v2/images/{id}/actions/reactivate. */
  async reactivate(ctx: RequestContext, imageId: string): Promise<void> {
    await this.transition(ctx, imageId, 'reactivate', 'deactivated', reactivatedStatus);
  }

  /** The action's checks, then its compare-and-set; the image's id when it is now deactivated. */
  private async transition(
    ctx: RequestContext,
    imageId: string,
    policyAction: 'deactivate' | 'reactivate',
    from: ImageStatus,
    next: (image: Pick<ImageRecord, 'status'>) => ImageStatus | null,
  ): Promise<string | null> {
    const { access, images } = this.deps;
    const found = await access.find(ctx, imageId);
    access.enforceMutation(ctx, policyAction, found);
    const status = next(found.image);
    // Compare-and-set: when the status changed meanwhile, this request reports the conflict.
    if (status !== null && !(await images.transition(found.image.id, from, status))) {
      throw new Conflict(`Image status transition from ${from} to ${status} is not allowed`);
    }
    // Upstream saves the image whether or not the action changed its status, and every save is an image.update.
    await this.notifyUpdate(found.image.id);
    return status === 'deactivated' ? found.image.id : null;
  }

  private async notifyUpdate(imageId: string): Promise<void> {
    if (!this.deps.events.wants('image.update')) return;
    const image = await this.deps.images.get(imageId);
    if (image) this.deps.events.updated(image);
  }

  /** _enforce_visibility: a public or community image needs its own policy, without the 404 translation. */
  private enforceVisibility(ctx: RequestContext, visibility: unknown, target: PolicyTarget): void {
    const { policy } = this.deps;
    if (visibility === 'public') policy.enforce(ctx, 'publicize_image', target);
    else if (visibility === 'community') policy.enforce(ctx, 'communitize_image', target);
  }

  private authorizePatch(ctx: RequestContext, found: VisibleImage, check: PatchAuthorization): void {
    const { access } = this.deps;
    switch (check.action) {
      case 'update_property':
        if (check.name === 'visibility') this.enforceVisibility(ctx, check.value, access.target(found));
        access.enforceMutation(ctx, 'modify_image', found);
        return;
      case 'set_image_location':
        access.enforceMutation(ctx, 'set_image_location', found);
        return;
      case 'delete_image_location':
        access.enforceMutation(ctx, 'delete_image_location', found);
        return;
    }
  }
}
