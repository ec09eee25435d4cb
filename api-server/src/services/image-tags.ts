import type { RequestContext } from '../domain/request-context.js';
import type { ImageRepository } from '../db/image-repo.js';
import { checkNo4ByteTags, validateAgainstImageSchema } from '../domain/image-rules.js';
import type { JsonObject } from '../domain/json-schema.js';
import { imageValidationSchema } from '../domain/schemas.js';
import type { DomainConfig } from '../domain/types.js';
import { Forbidden, Invalid, LimitExceeded, NotFound } from '../domain/errors.js';
import { NotImageOwner, type ImageAccess, type VisibleImage } from './image-access.js';
import type { ImageEvents } from './image-events.js';

export interface ImageTagsDeps {
  access: ImageAccess;
  images: ImageRepository;
  domain: DomainConfig;
  events: ImageEvents;
}

const notFound = (id: string): string => `Image ${id} not found.`;

/** An image's tags (upstream's image_tags.py): who may add and remove them, and the image_tag_quota. */
export class ImageTags {
  readonly #schema: JsonObject;

  constructor(private readonly deps: ImageTagsDeps) {
    this.#schema = imageValidationSchema(deps.domain);
  }

  /** PUT /v2/images/{id}/tags/{tag}. */
  async add(ctx: RequestContext, imageId: string, tag: string): Promise<void> {
    const { access, images, domain } = this.deps;
    // Upstream's deserializer validates the tag as the image schema's tags item, before any lookup.
    validateAgainstImageSchema({ tags: [tag] }, this.#schema);
    const found = await access.find(ctx, imageId, notFound);
    this.authorise(ctx, found, 'update');
    try {
      checkNo4ByteTags([tag]);
    } catch (err) {
      if (err instanceof Invalid) throw new Invalid(`Could not update image: ${err.message}`);
      throw err;
    }
    const outcome = await images.addTag(found.image.id, tag, domain.imageTagQuota);
    if (outcome === 'gone') throw new NotFound(notFound(found.image.id));
    if (typeof outcome === 'object') {
      throw new LimitExceeded(
        `Image tag limit exceeded for image ${found.image.id}: The limit has been exceeded on the number of ` +
          `allowed image tags. Attempted: ${outcome.over}, Maximum: ${domain.imageTagQuota}:`,
      );
    }
    await this.notifyUpdate(found.image.id);
  }

  /** DELETE /v2/images/{id}/tags/{tag}: a tag the image does not have is a bare 404. */
  async remove(ctx: RequestContext, imageId: string, tag: string): Promise<void> {
    const found = await this.deps.access.find(ctx, imageId, notFound);
    this.authorise(ctx, found, 'delete');
    if (!(await this.deps.images.removeTag(found.image.id, tag))) throw new NotFound();
    await this.notifyUpdate(found.image.id);
  }

  /** Upstream saves the image after a tag change, and every save is an image.update. */
  private async notifyUpdate(imageId: string): Promise<void> {
    if (!this.deps.events.wants('image.update')) return;
    const image = await this.deps.images.get(imageId);
    if (image) this.deps.events.updated(image);
  }

  private authorise(ctx: RequestContext, found: VisibleImage, verb: 'update' | 'delete'): void {
    try {
      this.deps.access.enforceMutation(ctx, 'modify_image', found);
    } catch (err) {
      // The owner check's refusal is reworded by the controller; policy refusals pass through unchanged.
      if (err instanceof NotImageOwner) {
        throw new Forbidden(`Not allowed to ${verb} tags for image ${found.image.id}.`);
      }
      throw err;
    }
  }
}
