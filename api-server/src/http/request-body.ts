import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';

/**
 * Hands the request body to `consume` as a stream. The request is piped rather than owned by the consumer's
 * pipeline, so a refusal half-way leaves the connection able to carry the error response; the unread rest of
 * the body is then discarded. A client that disconnects early makes the stream fail.
 */
async function receiveRequestBody<T>(
  req: IncomingMessage,
  consume: (body: NodeJS.ReadableStream) => Promise<T>,
): Promise<T> {
  const intake = new PassThrough();
  const onError = (err: Error): void => {
    intake.destroy(err);
  };
  const onClose = (): void => {
    if (!req.complete) intake.destroy(new Error('the client closed the connection during the upload'));
  };
  req.once('error', onError);
  req.once('close', onClose);
  req.pipe(intake);
  try {
    return await consume(intake);
  } catch (err) {
    req.unpipe(intake);
    req.resume();
    throw err;
  } finally {
    req.off('error', onError);
    req.off('close', onClose);
  }
}

/** A request's body as image data: its declared length, the stream, and whether all of it arrived. */
export function requestData(req: IncomingMessage): {
  declaredLength: number | null;
  receive<T>(consume: (body: NodeJS.ReadableStream) => Promise<T>): Promise<T>;
  complete(): boolean;
} {
  const raw = req.headers['content-length'];
  return {
    declaredLength: raw === undefined ? null : Number(raw),
    receive: (consume) => receiveRequestBody(req, consume),
    complete: () => req.complete,
  };
}
