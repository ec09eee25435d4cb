import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { HttpError } from './errors.js';
import { requestLocals, setLocals } from './locals.js';

/** Gives every request a `req-<uuid>` id and a logger carrying it, before anything can fail. */
export function assignRequestId(logger: Logger): RequestHandler {
  return (_req, res, next) => {
    const requestId = `req-${randomUUID()}`;
    setLocals(res, { requestId, log: logger.child({ requestId }) });
    next();
  };
}

/**
 * Upstream's context middleware for /v2: the client's X-Openstack-Request-ID (prefixed with `req-` when it
 * lacks it) becomes the request id, and every response carries it in x-openstack-request-id. An id longer
 * than `maxLength` (max_request_id_length; 0 means no limit) is refused with 431.
 */
export function openstackRequestId(maxLength: number): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('x-openstack-request-id');
    const tooLong = incoming !== undefined && maxLength > 0 && incoming.length > maxLength;
    if (incoming && !tooLong) {
      const requestId = incoming.startsWith('req-') ? incoming : `req-${incoming}`;
      const { log } = requestLocals(res);
      setLocals(res, { requestId, log: log.child({ requestId }) });
    }
    res.setHeader('x-openstack-request-id', requestLocals(res).requestId);
    if (tooLong) {
      next(new HttpError(431, `x-openstack-request-id is too long, max size ${maxLength}`));
      return;
    }
    next();
  };
}
