import {
  DataLeftUnread,
  GlanceError,
  RemoteRefused,
  UnsupportedMediaType,
  type ErrorKind,
} from '../domain/errors.js';
import { HttpError } from './errors.js';

/** The status upstream's API answers each kind of domain error with (its wsgi fault mapping). */
const STATUS: Record<ErrorKind, number> = {
  invalid: 400,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  gone: 410,
  'limit-exceeded': 413,
  'unsupported-media-type': 415,
  internal: 500,
  'bad-gateway': 502,
  unavailable: 503,
  'gateway-timeout': 504,
  // A refusal passed on from another worker answers with that worker's status (RemoteRefused.status).
  remote: 500,
};

/** The HttpError webob renders for `err`: upstream's `explanation=msg`, or its positional detail. */
function httpErrorOf(err: GlanceError): HttpError {
  const status = err instanceof RemoteRefused ? err.status : STATUS[err.kind];
  const headers: Record<string, string> =
    err instanceof UnsupportedMediaType && err.acceptPatch !== null
      ? { 'Accept-Patch': [...err.acceptPatch].sort().join(', ') }
      : {};
  if (err.afterDefault) return new HttpError(status, undefined, headers, err.explanation ?? '');
  return new HttpError(status, err.explanation ?? undefined, headers);
}

/** `err` as the HTTP error it is answered with; null for anything that is not a known failure (a 500). */
export function asHttpError(err: unknown): HttpError | null {
  if (err instanceof HttpError) return err;
  if (err instanceof GlanceError) return httpErrorOf(err);
  if (err instanceof DataLeftUnread) return httpErrorOf(err.reason);
  return null;
}
