import type { RequestContext } from '../domain/request-context.js';
import type { Policy, PolicyAction, PolicyTarget } from '../auth/policy.js';
import type { ImageRepository } from '../db/image-repo.js';
import type { MemberRepository } from '../db/member-repo.js';
import type { ImageRecord } from '../domain/types.js';
import { Forbidden, Invalid, NotFound } from '../domain/errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** check_is_image_mutable's refusal, which some controllers reword. */
export class NotImageOwner extends Forbidden {}

/** An image the caller is allowed to know exists. */
export interface VisibleImage {
  image: ImageRecord;
}

export interface ImageAccessDeps {
  images: ImageRepository;
  members: MemberRepository;
  policy: Policy;
}

/**
 * Upstream's image lookup and authorisation steps shared by every image route: the DB layer's visibility rule,
 * ImageAPIPolicy's "Forbidden becomes NotFound for images you cannot see", and the legacy owner check.
 */
export class ImageAccess {
  constructor(private readonly deps: ImageAccessDeps) {}

  /**
   * The image if the caller may see it; otherwise NotFound(`notFound(id)`). Ids that are not UUIDs
   * cannot name an image (upstream only creates UUIDs), so they are not looked up at all.
   */
  async find(
    ctx: RequestContext,
    id: string,
    notFound: (id: string) => string = (i) => `No image found with ID ${i}`,
  ): Promise<VisibleImage> {
    const image = UUID.test(id) ? await this.deps.images.get(id) : null;
    if (!image || !(await this.visible(ctx, image))) throw new NotFound(notFound(id));
    return { image };
  }

  /**
   * A list marker: upstream looks it up like any image, but answers an unknown one with 400 and one the caller
   * may not see with 403.
   */
  async marker(ctx: RequestContext, id: string): Promise<ImageRecord> {
    const image = UUID.test(id) ? await this.deps.images.get(id) : null;
    if (!image) throw new Invalid(`No image found with ID ${id}`);
    if (!(await this.visible(ctx, image))) throw new Forbidden(`Forbidding request, image ${id} not visible`);
    return image;
  }

  /** glance/db/utils.py is_image_visible: any membership, whatever its status, lets a project see the image. */
  private async visible(ctx: RequestContext, image: ImageRecord): Promise<boolean> {
    if (ctx.isAdmin || image.owner === null) return true;
    if (image.visibility === 'public' || image.visibility === 'community') return true;
    if (ctx.projectId === null) return false;
    if (ctx.projectId === image.owner) return true;
    if (image.visibility !== 'shared') return false;
    const memberships = await this.deps.members.find(ctx, image.id, ctx.projectId);
    return memberships.length > 0;
  }

  /**
   * Upstream's ImageTarget. Its member_id is the caller whenever the image is shared and not the caller's (the
   * DB layer only returned it to a member), which is what PolicyTarget assumes when memberStatus is left out.
   */
  target(found: VisibleImage): PolicyTarget {
    return { owner: found.image.owner, visibility: found.image.visibility };
  }

  check(ctx: RequestContext, action: PolicyAction, found: VisibleImage): boolean {
    try {
      this.enforce(ctx, action, found);
      return true;
    } catch (err) {
      if (err instanceof Forbidden || err instanceof NotFound) return false;
      throw err;
    }
  }

  /** ImageAPIPolicy._enforce: a refusal on an image the caller may not even get is a bare 404. */
  enforce(ctx: RequestContext, action: PolicyAction, found: VisibleImage): void {
    const target = this.target(found);
    try {
      this.deps.policy.enforce(ctx, action, target);
    } catch (err) {
      if (!(err instanceof Forbidden)) throw err;
      if (action === 'get_image' || !this.deps.policy.check(ctx, 'get_image', target)) throw new NotFound();
      throw err;
    }
  }

  /**
   * A change to the image: the policy, then upstream's admin-or-owner rule. Upstream's policy layer applies it
   * only without secure RBAC (check_is_image_mutable), but its database layer applies it to every save of an
   * image (is_image_mutable in image_update and image_destroy), whatever the policy allowed; so it holds here
   * always, before anything is changed or fetched.
   */
  enforceMutation(ctx: RequestContext, action: PolicyAction, found: VisibleImage): void {
    this.enforce(ctx, action, found);
    if (ctx.isAdmin) return;
    const owner = found.image.owner;
    if (owner === null || ctx.projectId === null || owner !== ctx.projectId) {
      throw new NotImageOwner('You do not own this image');
    }
  }
}
