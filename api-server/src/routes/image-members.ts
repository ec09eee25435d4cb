import type { Request, Router } from 'express';
import { z } from 'zod';
import type { RequestContext } from '../auth/context.js';
import type { MemberRepository } from '../db/member-repo.js';
import { MEMBER_STATUSES, type MemberRecord } from '../domain/types.js';
import { Conflict, Forbidden, GlanceError, Invalid, LimitExceeded, NotFound } from '../domain/errors.js';
import { requireJson } from '../http/json-body.js';
import { requestContext } from '../http/locals.js';
import { sendJson, sendNoContent } from '../http/respond.js';
import { param, route } from '../http/routing.js';
import type { ImageAccess, VisibleImage } from '../services/image-access.js';

export interface MemberRouteOptions {
  /** [DEFAULT] image_member_quota; negative means unlimited. */
  memberQuota: number;
  /** [DEFAULT] enforce_secure_rbac: without it upstream hard-codes who may add, answer and remove. */
  secureRbac: boolean;
  jsonLimit: number;
}

function isotime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function memberView(m: MemberRecord): Record<string, string> {
  return {
    member_id: m.member,
    image_id: m.image_id,
    status: m.status,
    created_at: isotime(m.created_at),
    updated_at: isotime(m.updated_at),
    schema: '/v2/schemas/member',
  };
}

// Upstream reads body['member'] and body['status'] and answers a missing key, an empty member and a body that
// is not an object with different words; the column holds at most 255 characters.
const createBody = z.object({ member: z.unknown() });
const updateBody = z.object({ status: z.unknown() });

async function memberIdFrom(req: Request, limit: number): Promise<string> {
  const body = await requireJson(req, limit);
  const parsed = createBody.safeParse(body);
  if (Array.isArray(body) || !parsed.success) {
    throw new Invalid('Expected a member in the form: {"member": "image_id"}');
  }
  if (!('member' in (body as object))) throw new Invalid('Member to be added not specified');
  const member = parsed.data.member;
  if (member === '' || member === null || member === false || member === 0) {
    throw new Invalid("Member can't be empty");
  }
  if (typeof member !== 'string' || member.length > 255) {
    throw new Invalid('Expected a member in the form: {"member": "image_id"}');
  }
  return member;
}

async function statusFrom(req: Request, limit: number): Promise<unknown> {
  const body = await requireJson(req, limit);
  const parsed = updateBody.safeParse(body);
  if (Array.isArray(body) || !parsed.success) {
    throw new Invalid('Expected a status in the form: {"status": "status"}');
  }
  if (!('status' in (body as object))) throw new Invalid('Status not specified');
  return parsed.data.status;
}

/** /v2/images/{id}/members[/{member}] with upstream's image_members.py rules. */
export function mountImageMembers(
  router: Router,
  access: ImageAccess,
  members: MemberRepository,
  opts: MemberRouteOptions,
): void {
  const lookup = (ctx: RequestContext, req: Request): Promise<VisibleImage> =>
    access.find(ctx, param(req, 'imageId'), (id) => `Image ${id} not found.`);

  /** _check_visibility_and_ownership; `refusal` is the controller's 403 text for this operation. */
  const checkSharing = (
    ctx: RequestContext,
    found: VisibleImage,
    op: 'create' | 'update' | 'delete' | null,
    refusal: string,
  ): void => {
    if (found.image.visibility !== 'shared') throw new Forbidden(refusal);
    if (opts.secureRbac || ctx.isAdmin || op === null) return;
    const owner = found.image.owner;
    const refused =
      (op === 'create' && (owner === null || owner !== ctx.projectId)) ||
      (op === 'update' && ctx.projectId === owner) ||
      (op === 'delete' && ctx.projectId !== owner);
    if (refused) throw new Forbidden(refusal);
  };

  /** _lookup_member: the get_member policy, then the caller-scoped row. */
  const lookupMember = async (
    ctx: RequestContext,
    found: VisibleImage,
    memberId: string,
  ): Promise<MemberRecord> => {
    access.enforce(ctx, 'get_member', found);
    const [member] = await members.find(ctx, found.image.id, memberId);
    if (!member) {
      throw new NotFound(`${memberId} not found in the member list of the image ${found.image.id}.`);
    }
    return member;
  };

  route(router, '/v2/images/:imageId/members', 'GET, POST', {
    GET: {
      bodyReject: true,
      handler: async (req, res) => {
        const ctx = requestContext(res);
        const found = await lookup(ctx, req);
        try {
          checkSharing(ctx, found, null, 'Only shared images have members.');
        } catch (err) {
          const inner = err instanceof GlanceError ? err.message : String(err);
          throw new Forbidden(`Not allowed to list members for image ${found.image.id}: ${inner}`);
        }
        access.enforce(ctx, 'get_members', found);
        const list = access.check(ctx, 'get_member', found) ? await members.find(ctx, found.image.id) : [];
        sendJson(res, 200, { members: list.map(memberView), schema: '/v2/schemas/members' });
      },
    },
    POST: {
      handler: async (req, res) => {
        const memberId = await memberIdFrom(req, opts.jsonLimit);
        const ctx = requestContext(res);
        const found = await lookup(ctx, req);
        const refusal = `Not allowed to create members for image ${found.image.id}.`;
        checkSharing(ctx, found, 'create', refusal);
        access.enforce(ctx, 'add_member', found);
        const count = await members.count(found.image.id);
        if (opts.memberQuota >= 0 && count + 1 > opts.memberQuota) {
          throw new LimitExceeded(
            `Image member limit exceeded for image ${found.image.id}: The limit has been exceeded on the number ` +
              `of allowed image members for this image. Attempted: ${count + 1}, Maximum: ${opts.memberQuota}:`,
          );
        }
        const added = await members.add(found.image.id, memberId);
        if (!added) throw new Conflict(`Member ${memberId} is duplicated for image ${found.image.id}`);
        sendJson(res, 200, memberView(added));
      },
    },
  });

  route(router, '/v2/images/:imageId/members/:memberId', 'GET, PUT, DELETE', {
    GET: {
      bodyReject: true,
      handler: async (req, res) => {
        const ctx = requestContext(res);
        const found = await lookup(ctx, req);
        try {
          checkSharing(ctx, found, null, 'Only shared images have members.');
          sendJson(res, 200, memberView(await lookupMember(ctx, found, param(req, 'memberId'))));
        } catch (err) {
          // Upstream turns every refusal here into a 404 so membership does not leak.
          if (err instanceof Forbidden) throw new NotFound(err.message);
          throw err;
        }
      },
    },
    PUT: {
      handler: async (req, res) => {
        const status = await statusFrom(req, opts.jsonLimit);
        const ctx = requestContext(res);
        const found = await lookup(ctx, req);
        checkSharing(ctx, found, 'update', `Not allowed to update members for image ${found.image.id}.`);
        const member = await lookupMember(ctx, found, param(req, 'memberId'));
        access.enforce(ctx, 'modify_member', found);
        if (typeof status !== 'string' || !(MEMBER_STATUSES as readonly string[]).includes(status)) {
          throw new Invalid('Incorrect request: Status must be "pending", "accepted" or "rejected".');
        }
        const updated = await members.setStatus(
          found.image.id,
          member.member,
          status as MemberRecord['status'],
        );
        if (!updated) {
          throw new NotFound(`${member.member} not found in the member list of the image ${found.image.id}.`);
        }
        sendJson(res, 200, memberView(updated));
      },
    },
    DELETE: {
      bodyReject: true,
      handler: async (req, res) => {
        const ctx = requestContext(res);
        const found = await lookup(ctx, req);
        checkSharing(ctx, found, 'delete', `Not allowed to delete members for image ${found.image.id}.`);
        const member = await lookupMember(ctx, found, param(req, 'memberId'));
        access.enforce(ctx, 'delete_member', found);
        if (!(await members.remove(found.image.id, member.member))) {
          throw new NotFound(`The specified member ${member.member} could not be found`);
        }
        sendNoContent(res);
      },
    },
  });
}
