import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { renderError } from './error-body.js';
import { HttpError } from './errors.js';

/** Node's parser codes for requests that never reached express, and the status each deserves. */
function errorFor(code: string | undefined): HttpError {
  if (code === 'HPE_HEADER_OVERFLOW') return new HttpError(431);
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return new HttpError(408);
  return new HttpError(400, 'The request could not be parsed.');
}

/**
 * The server's 'clientError' listener: a request whose head Node could not parse (headers past maxHeaderSize,
 * malformed syntax) gets a complete plain-text answer and the connection is closed. Its headers were never
 * parsed, so there is no Accept to honour.
 */
export function onClientError(log: Logger): (err: NodeJS.ErrnoException, socket: Socket) => void {
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const httpError = errorFor(err.code);
    log.info({ code: err.code, status: httpError.status }, 'unparseable request refused');
    const { contentType, body } = renderError(httpError, {
      method: 'GET',
      accept: undefined,
      contentType: undefined,
    });
    const payload = Buffer.from(body, 'utf8');
    socket.end(
      Buffer.concat([
        Buffer.from(
          `HTTP/1.1 ${httpError.status} ${httpError.title}\r\nContent-Type: ${contentType}\r\n` +
            `Content-Length: ${payload.length}\r\nConnection: close\r\n\r\n`,
        ),
        payload,
      ]),
    );
  };
}
