import { Transform, type TransformCallback } from 'node:stream';
import { LimitExceeded } from '../domain/errors.js';
import { BodyScavenger } from './body-scavenger.js';

/** Upstream's text for `image_size_cap`: "The incoming image is too large: " + ImageSizeLimitExceeded's message. */
export const IMAGE_TOO_LARGE = 'The incoming image is too large: The provided image is too large.';

/**
 * A pass-through that fails with LimitExceeded(explanation) as soon as more than `maxBytes` have arrived. Like
 * upstream's LimitingReader, the chunk that crosses the limit is not passed on. Every incoming body (upload and
 * staging) passes here first, so this stage also paces the collection of its pieces (body-scavenger.ts).
 */
export function limitSize(maxBytes: number, explanation: string = IMAGE_TOO_LARGE): NodeJS.ReadWriteStream {
  let seen = 0;
  const scavenger = new BodyScavenger();
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
      seen += chunk.length;
      scavenger.passed(chunk.length);
      if (seen > maxBytes) callback(new LimitExceeded(explanation));
      else callback(null, chunk);
    },
  });
}
