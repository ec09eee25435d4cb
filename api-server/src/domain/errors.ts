/**
 * What goes wrong below the API, as upstream's glance/common/exception.py raises it: a kind of failure (NotFound,
 * Forbidden, Conflict, Invalid, …) and the message upstream's API shows for it. These say nothing of HTTP: the
 * API edge (http/error-map.ts) is the one place that turns each kind into its status and webob body.
 */
export type ErrorKind =
  | 'invalid'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'gone'
  | 'limit-exceeded'
  | 'unsupported-media-type'
  | 'internal'
  | 'bad-gateway'
  | 'unavailable'
  | 'gateway-timeout'
  | 'remote';

export interface GlanceErrorOptions {
  cause?: unknown;
  /**
   * Upstream hands this message to webob positionally (`HTTPForbidden(msg)`) rather than as `explanation=msg`:
   * the body then gives the kind's own sentence first and this message after it.
   */
  afterDefault?: boolean;
}

export abstract class GlanceError extends Error {
  abstract readonly kind: ErrorKind;
  /** The message upstream shows; null when it shows only the kind's own sentence. */
  readonly explanation: string | null;
  readonly afterDefault: boolean;

  constructor(message?: string, options: GlanceErrorOptions = {}) {
    super(message ?? '', options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.explanation = message ?? null;
    this.afterDefault = options.afterDefault ?? false;
  }
}

/** Data supplied was not valid (Invalid, BadRequest, the schema's refusals). */
export class Invalid extends GlanceError {
  readonly kind = 'invalid';
}

/** Not allowed: policy, ownership, read-only and reserved attributes, a protected image. */
export class Forbidden extends GlanceError {
  readonly kind = 'forbidden';
}

export class NotFound extends GlanceError {
  readonly kind = 'not-found';
}

/** The resource's state forbids the change (Conflict, Duplicate, a status transition lost to another). */
export class Conflict extends GlanceError {
  readonly kind = 'conflict';
}

/** The resource went away during the request, or the store will take no more data. */
export class Gone extends GlanceError {
  readonly kind = 'gone';
}

/** A size cap, storage quota or Keystone limit (LimitExceeded, ImageSizeLimitExceeded, StorageFull). */
export class LimitExceeded extends GlanceError {
  readonly kind = 'limit-exceeded';
}

/** InvalidContentType; `acceptPatch` lists the media types a PATCH would have been accepted in. */
export class UnsupportedMediaType extends GlanceError {
  readonly kind = 'unsupported-media-type';
  readonly acceptPatch: readonly string[] | null;

  constructor(message?: string, options: GlanceErrorOptions & { acceptPatch?: readonly string[] } = {}) {
    super(message, options);
    this.acceptPatch = options.acceptPatch ?? null;
  }
}

/** A failure upstream reports as its own (500) rather than the caller's. */
export class InternalError extends GlanceError {
  readonly kind = 'internal';
}

/** The store or service the data is on cannot be used right now (RemoteServiceUnavailable, permissions). */
export class ServiceUnavailable extends GlanceError {
  readonly kind = 'unavailable';
}

/**
 * Another glance-api worker refused a request passed on to it: the caller gets its status, with none of its
 * explanation (upstream's proxy_response_error).
 */
export class RemoteRefused extends GlanceError {
  readonly kind = 'remote';
  readonly status: number;

  constructor(status: number) {
    super('');
    this.status = status;
  }
}

/** A refusal that leaves the request's data unread (all of it, or the rest of it): the client may still be sending. */
export class DataLeftUnread extends Error {
  constructor(readonly reason: GlanceError) {
    super(reason.message);
    this.name = 'DataLeftUnread';
  }
}
