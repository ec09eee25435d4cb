import type { RequestContext } from '../domain/request-context.js';
import type { MemberRepository } from '../db/member-repo.js';
import { Conflict, Forbidden, GlanceError, Invalid, LimitExceeded, NotFound } from '../domain/errors.js';
import { MEMBER_STATUSES, type MemberRecord } from '../domain/types.js';
import type { ImageAccess, VisibleImage } from './image-access.js';
import type { ImageEvents } from './image-events.js';

export interface ImageMembersDeps {
  access: ImageAccess;
  members: MemberRepository;
  /** [DEFAULT] image_member_quota; negative means unlimited. */
  memberQuota: number;
  /** [DEFAULT] enforce_secure_rbac: without it upstream hard-codes who may add, answer and remove. */
  secureRbac: boolean;
  events: ImageEvents;
}

/** An image's members, with upstream's image_members.py rules: who may see, add, answer and remove them. */
export class ImageMembers {
  constructor(private readonly deps: ImageMembersDeps) {}

  /** GET /v2/images/{id}/members: none when the get_member policy refuses the caller. */
  async list(ctx: RequestContext, imageId: string): Promise<MemberRecord[]> {
    const { access, members } = this.deps;
    const found = await this.lookup(ctx, imageId);
    try {
      this.checkSharing(ctx, found, null, 'Only shared images have members.');
    } catch (err) {
      const inner = err instanceof GlanceError ? err.message : String(err);
      throw new Forbidden(`Not allowed to list members for image ${found.image.id}: ${inner}`);
    }
    access.enforce(ctx, 'get_members', found);
    return access.check(ctx, 'get_member', found) ? members.find(ctx, found.image.id) : [];
  }

  /** POST /v2/images/{id}/members: a pending membership for `memberId`. */
  async add(ctx: RequestContext, imageId: string, memberId: string): Promise<MemberRecord> {
    const { access, members, memberQuota } = this.deps;
    const found = await this.lookup(ctx, imageId);
    const refusal = `Not allowed to create members for image ${found.image.id}.`;
    this.checkSharing(ctx, found, 'create', refusal);
    access.enforce(ctx, 'add_member', found);
    const count = await members.count(found.image.id);
    if (memberQuota >= 0 && count + 1 > memberQuota) {
      throw new LimitExceeded(
        `Image member limit exceeded for image ${found.image.id}: The limit has been exceeded on the number ` +
          `of allowed image members for this image. Attempted: ${count + 1}, Maximum: ${memberQuota}:`,
      );
    }
    const added = await members.add(found.image.id, memberId);
    if (!added) throw new Conflict(`Member ${memberId} is duplicated for image ${found.image.id}`);
    this.deps.events.memberCreated(added);
    return added;
  }

  /** GET /v2/images/{id}/members/{member}: every refusal is a 404, so that membership does not leak. */
  async get(ctx: RequestContext, imageId: string, memberId: string): Promise<MemberRecord> {
    const found = await this.lookup(ctx, imageId);
    try {
      this.checkSharing(ctx, found, null, 'Only shared images have members.');
      return await this.lookupMember(ctx, found, memberId);
    } catch (err) {
      if (err instanceof Forbidden) throw new NotFound(err.message);
      throw err;
    }
  }

  /** PUT /v2/images/{id}/members/{member}: the member's answer; `status` as the client sent it. */
  async setStatus(
    ctx: RequestContext,
    imageId: string,
    memberId: string,
    status: unknown,
  ): Promise<MemberRecord> {
    const { access, members } = this.deps;
    const found = await this.lookup(ctx, imageId);
    this.checkSharing(ctx, found, 'update', `Not allowed to update members for image ${found.image.id}.`);
    const member = await this.lookupMember(ctx, found, memberId);
    access.enforce(ctx, 'modify_member', found);
    if (typeof status !== 'string' || !(MEMBER_STATUSES as readonly string[]).includes(status)) {
      throw new Invalid('Incorrect request: Status must be "pending", "accepted" or "rejected".');
    }
    const updated = await members.setStatus(found.image.id, member.member, status as MemberRecord['status']);
    if (!updated) {
      throw new NotFound(`${member.member} not found in the member list of the image ${found.image.id}.`);
    }
    this.deps.events.memberUpdated(updated);
    return updated;
  }

  /** DELETE /v2/images/{id}/members/{member}. */
  async remove(ctx: RequestContext, imageId: string, memberId: string): Promise<void> {
    const { access, members } = this.deps;
    const found = await this.lookup(ctx, imageId);
    this.checkSharing(ctx, found, 'delete', `Not allowed to delete members for image ${found.image.id}.`);
    const member = await this.lookupMember(ctx, found, memberId);
    access.enforce(ctx, 'delete_member', found);
    if (!(await members.remove(found.image.id, member.member))) {
      throw new NotFound(`The specified member ${member.member} could not be found`);
    }
    this.deps.events.memberDeleted(member, new Date());
  }

  private lookup(ctx: RequestContext, imageId: string): Promise<VisibleImage> {
    return this.deps.access.find(ctx, imageId, (id) => `Image ${id} not found.`);
  }

  /** _check_visibility_and_ownership; `refusal` is the controller's 403 text for this operation. */
  private checkSharing(
    ctx: RequestContext,
    found: VisibleImage,
    op: 'create' | 'update' | 'delete' | null,
    refusal: string,
  ): void {
    if (found.image.visibility !== 'shared') throw new Forbidden(refusal);
    if (this.deps.secureRbac || ctx.isAdmin || op === null) return;
    const owner = found.image.owner;
    const refused =
      (op === 'create' && (owner === null || owner !== ctx.projectId)) ||
      (op === 'update' && ctx.projectId === owner) ||
      (op === 'delete' && ctx.projectId !== owner);
    if (refused) throw new Forbidden(refusal);
  }

  /** _lookup_member: the get_member policy, then the caller-scoped row. */
  private async lookupMember(
    ctx: RequestContext,
    found: VisibleImage,
    memberId: string,
  ): Promise<MemberRecord> {
    this.deps.access.enforce(ctx, 'get_member', found);
    const [member] = await this.deps.members.find(ctx, found.image.id, memberId);
    if (!member) {
      throw new NotFound(`${memberId} not found in the member list of the image ${found.image.id}.`);
    }
    return member;
  }
}
