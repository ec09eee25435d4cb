import type { Request, Router } from 'express';
import { z } from 'zod';
import { Invalid } from '../domain/errors.js';
import type { MemberRecord } from '../domain/types.js';
import { requireJson } from '../http/json-body.js';
import { requestContext } from '../http/locals.js';
import { sendJson, sendNoContent } from '../http/respond.js';
import { param, route } from '../http/routing.js';
import type { ImageMembers } from '../services/image-members.js';

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

/** /v2/images/{id}/members[/{member}]: parse, ask the ImageMembers service, render. */
export function mountImageMembers(router: Router, members: ImageMembers, jsonLimit: number): void {
  route(router, '/v2/images/:imageId/members', 'GET, POST', {
    GET: {
      bodyReject: true,
      handler: async (req, res) => {
        const list = await members.list(requestContext(res), param(req, 'imageId'));
        sendJson(res, 200, { members: list.map(memberView), schema: '/v2/schemas/members' });
      },
    },
    POST: {
      handler: async (req, res) => {
        const memberId = await memberIdFrom(req, jsonLimit);
        const added = await members.add(requestContext(res), param(req, 'imageId'), memberId);
        sendJson(res, 200, memberView(added));
      },
    },
  });

  route(router, '/v2/images/:imageId/members/:memberId', 'GET, PUT, DELETE', {
    GET: {
      bodyReject: true,
      handler: async (req, res) => {
        const member = await members.get(requestContext(res), param(req, 'imageId'), param(req, 'memberId'));
        sendJson(res, 200, memberView(member));
      },
    },
    PUT: {
      handler: async (req, res) => {
        const status = await statusFrom(req, jsonLimit);
        const ctx = requestContext(res);
        const updated = await members.setStatus(ctx, param(req, 'imageId'), param(req, 'memberId'), status);
        sendJson(res, 200, memberView(updated));
      },
    },
    DELETE: {
      bodyReject: true,
      handler: async (req, res) => {
        await members.remove(requestContext(res), param(req, 'imageId'), param(req, 'memberId'));
        sendNoContent(res);
      },
    },
  });
}
