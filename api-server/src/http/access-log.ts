import type { RequestHandler } from 'express';
import { requestLocals } from './locals.js';

/**
 * One log line per finished request. Only the method, the path without its query string, the status and the
 * duration are logged: headers (tokens) and query strings (which can carry anything) never are.
 */
export function accessLog(): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const path = req.originalUrl.split('?')[0];
    res.once('close', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      requestLocals(res).log.info(
        {
          method: req.method,
          path,
          status: res.statusCode,
          ms: Math.round(ms),
          complete: res.writableFinished,
        },
        'request',
      );
    });
    next();
  };
}
