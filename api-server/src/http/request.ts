import type { Request } from 'express';

/** The query string as sent, repeated keys and all (webob's MultiDict keeps them). */
export function rawQuery(req: Request): URLSearchParams {
  const at = req.originalUrl.indexOf('?');
  return new URLSearchParams(at < 0 ? '' : req.originalUrl.slice(at + 1));
}

/** Absolute URL for a Location header, as webob completes a relative one (non-ASCII percent-encoded). */
export function absoluteUrl(req: Request, path: string): string {
  const encoded = path.replace(/[^\x21-\x7e]/gu, (ch) => encodeURIComponent(ch));
  return `${req.protocol}://${req.get('host') ?? 'localhost'}${encoded}`;
}
