import type { Request, Response, Router } from 'express';
import { HttpError } from './errors.js';
import { handlersInFlight } from './inflight.js';
import { rejectBody } from './json-body.js';

export type Handler = (req: Request, res: Response) => Promise<void> | void;

export interface MethodSpec {
  handler: Handler;
  /** Upstream's body_reject: a request body is a 400. */
  bodyReject?: boolean;
}

/**
 * Mounts one upstream route: its methods, and RejectMethodController's 405 with `allow` (upstream's exact
 * spelling) for every other method, HEAD included, since upstream's GET routes do not answer HEAD.
 */
export function route(
  router: Router,
  path: string,
  allow: string,
  methods: Record<string, MethodSpec>,
): void {
  router.all(path, async (req, res) => {
    const spec = methods[req.method];
    if (!spec) throw new HttpError(405, undefined, { Allow: allow });
    if (spec.bodyReject) rejectBody(req);
    await handlersInFlight.track(async () => spec.handler(req, res));
  });
}

/** A route parameter as the client spelled it, decoded (express already decoded it). */
export function param(req: Request, name: string): string {
  const value = req.params[name];
  if (typeof value !== 'string') throw new Error(`route has no parameter ${name}`);
  return value;
}
