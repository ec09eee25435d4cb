import type { IncomingMessage } from 'node:http';
import type { JsonValue } from '../domain/pyrepr.js';
import { HttpError } from './errors.js';

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);
const BODY_ENCODINGS = new Set(['chunked', 'compress', 'deflate', 'gzip', 'identity']);

function contentLength(req: IncomingMessage): number | null {
  const raw = req.headers['content-length'];
  return raw === undefined ? null : Number(raw);
}

/** Upstream's JSONRequestDeserializer.has_body: a streamed body on POST/PUT/PATCH, or any Content-Length > 0. */
export function hasBody(req: IncomingMessage): boolean {
  const encoding = (req.headers['transfer-encoding'] ?? '').toLowerCase();
  if (BODY_ENCODINGS.has(encoding) && BODY_METHODS.has(req.method ?? '')) return true;
  return (contentLength(req) ?? 0) > 0;
}

/** Routes upstream marks body_reject refuse any body. */
export function rejectBody(req: IncomingMessage): void {
  if (hasBody(req)) throw new HttpError(400, 'A body is not expected with this request.');
}

// Past the limit the rest of the body is never read, so the connection cannot carry another request.
function tooLarge(limit: number): HttpError {
  return new HttpError(413, `The request body is larger than the ${limit} bytes this server accepts.`, {
    Connection: 'close',
  });
}

async function readLimited(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = contentLength(req);
  if (declared !== null && declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * The request's JSON document, or undefined when there is no body (upstream's deserializers then say what
 * was expected). Like upstream, the Content-Type is not looked at and only an object or array is accepted.
 */
export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  if (!hasBody(req)) return undefined;
  const raw = await readLimited(req, limit);
  let text: string;
  try {
    text = decoder.decode(raw);
  } catch {
    throw new HttpError(
      400,
      'Error decoding your request. Either the URL or the request body contained characters that could not be ' +
        'decoded by Glance',
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'Malformed JSON in request body.');
  }
  if (typeof parsed !== 'object' || parsed === null) {
    throw new HttpError(400, 'Unexpected body type. Expected list/dict.');
  }
  return parsed;
}

/** The body of a route that needs one: upstream's `_get_request_body`. */
export async function requireJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const body = await readJson(req, limit);
  if (body === undefined) throw new HttpError(400, 'Body expected in request.');
  return body;
}

/** A JSON body required (as requireJson), as the JSON value metadef bodies are parsed from. */
export async function jsonBody(req: IncomingMessage, limit: number): Promise<JsonValue> {
  return (await requireJson(req, limit)) as JsonValue;
}
