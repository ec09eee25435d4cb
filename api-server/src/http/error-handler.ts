import type { ErrorRequestHandler, Request, Response } from 'express';
import type { Logger } from 'pino';
import { DataLeftUnread } from '../domain/errors.js';
import { discardRest } from './discard-body.js';
import { renderError } from './error-body.js';
import { asHttpError } from './error-map.js';
import { HttpError } from './errors.js';

/** Sends `err` the way webob renders an HTTPException for this request. */
export function sendError(req: Request, res: Response, err: HttpError): void {
  const rendered = renderError(err, {
    method: req.method,
    accept: req.headers.accept,
    contentType: req.headers['content-type'],
  });
  for (const [name, value] of Object.entries(err.headers)) res.setHeader(name, value);
  res.status(err.status);
  res.setHeader('Content-Type', rendered.contentType);
  if (req.method === 'HEAD') {
    res.setHeader('Content-Length', '0');
    res.end();
    return;
  }
  const body = Buffer.from(rendered.body, 'utf8');
  res.setHeader('Content-Length', String(body.length));
  res.end(body);
}

// Errors express itself raises carry a status: a malformed %-escape in a route parameter is its 400.
function frameworkStatus(err: unknown): number | null {
  const status = (err as { status?: unknown; statusCode?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : null;
}

/** Renders HttpErrors and domain errors; anything else is logged and answered with webob's plain 500. */
export function errorHandler(fallbackLog: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const log = (res.locals as { log?: Logger }).log ?? fallbackLog;
    const known = asHttpError(err);
    let httpError: HttpError;
    if (known !== null) {
      httpError = known;
    } else if (frameworkStatus(err) !== null) {
      httpError = new HttpError(frameworkStatus(err) ?? 400);
    } else {
      log.error({ err }, 'request failed');
      httpError = new HttpError(500);
    }
    if (httpError.status >= 500 && known !== null) log.error({ err }, 'request failed');
    if (res.headersSent) {
      // Part of a download already went out; the client must see a broken transfer, not a short one.
      res.destroy();
      return;
    }
    if (err instanceof DataLeftUnread && !discardRest(req)) {
      const { status, explanation, headers, detail } = httpError;
      httpError = new HttpError(status, explanation, { ...headers, Connection: 'close' }, detail);
    }
    sendError(req, res, httpError);
  };
}
