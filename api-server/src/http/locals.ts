import type { Response } from 'express';
import type { Logger } from 'pino';
import type { RequestContext } from '../domain/request-context.js';

/** What the framing middleware attaches to each response for the handlers after it. */
export interface RequestLocals {
  requestId: string;
  log: Logger;
}

export function setLocals(res: Response, values: RequestLocals): void {
  Object.assign(res.locals, values);
}

export function requestLocals(res: Response): RequestLocals {
  const { requestId, log } = res.locals as Partial<RequestLocals>;
  if (requestId === undefined || log === undefined) throw new Error('request id middleware did not run');
  return { requestId, log };
}

export function requestContext(res: Response): RequestContext {
  const ctx = (res.locals as { context?: RequestContext }).context;
  if (ctx === undefined) throw new Error('authentication middleware did not run');
  return ctx;
}
