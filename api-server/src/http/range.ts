import type { ByteRange } from '../store/store.js';
import { HttpError } from './errors.js';

// webob.byterange's patterns; like upstream they match a prefix, so trailing text is ignored.
const RANGE = /^bytes *= *(\d*) *- *(\d*)/i;
const CONTENT_RANGE = /^bytes (?:(\d+)-(\d+)|[*])\/(?:(\d+)|[*])/;

function notSatisfiable(detail: string): HttpError {
  return new HttpError(416, undefined, {}, detail);
}

function startOutside(header: string, size: number): string {
  return `Invalid start position in ${header} header. Start position MUST be in the inclusive range [0, ${size - 1}].`;
}

function fromRange(header: string, size: number): ByteRange {
  // Several ranges would need a multipart body; upstream refuses them outright.
  if (header.includes(',')) {
    throw new HttpError(
      400,
      'Requests with multiple ranges are not supported in Glance. You may make multiple single-range requests ' +
        'instead.',
    );
  }
  const m = RANGE.exec(header);
  const [first, last] = [m?.[1] ?? '', m?.[2] ?? ''];
  if (!m || (first === '' && last === '')) throw notSatisfiable('Invalid Range header.');
  if (size === 0) throw notSatisfiable(startOutside('Range', size));
  if (first === '') {
    // bytes=-n: the last n bytes; webob reads -0 as offset 0, and n past the size means the whole image.
    const n = Number(last);
    return { start: n > 0 && n < size ? size - n : 0, end: size - 1 };
  }
  const start = Number(first);
  const endExclusive = last === '' ? null : Number(last) + 1;
  if (endExclusive !== null && start >= endExclusive) throw notSatisfiable('Invalid Range header.');
  if (start >= size) throw notSatisfiable(startOutside('Range', size));
  return { start, end: endExclusive !== null && endExclusive < size ? endExclusive - 1 : size - 1 };
}

function fromContentRange(header: string, size: number): ByteRange {
  const m = CONTENT_RANGE.exec(header);
  const valid =
    m !== null &&
    (m[1] === undefined ||
      (Number(m[1]) < Number(m[2]) + 1 && (m[3] === undefined || Number(m[2]) + 1 <= Number(m[3]))));
  if (!m || !valid) throw notSatisfiable('Invalid Content-Range header.');
  if (m[1] === undefined) throw notSatisfiable('Invalid Content-Range header.');
  const start = Number(m[1]);
  const stop = Number(m[2]) + 1;
  // Upstream checks the stop only when no length is given and then serves past the end; refuse it always.
  if (stop > size) {
    throw notSatisfiable(
      `Invalid stop position in Content-Range header. The stop position MUST be in the inclusive range [0, ${size - 1}].`,
    );
  }
  if (start >= size) throw notSatisfiable(startOutside('Content-Range', size));
  return { start, end: stop - 1 };
}

/**
 * The part of an image of `size` bytes a download asks for (upstream's get_range_from_request): a Range header,
 * else the legacy request Content-Range, else null for the whole image.
 */
export function requestedSpan(
  headers: { range?: string; 'content-range'?: string },
  size: number,
): ByteRange | null {
  if (headers.range !== undefined) return fromRange(headers.range, size);
  if (headers['content-range'] !== undefined) return fromContentRange(headers['content-range'], size);
  return null;
}
