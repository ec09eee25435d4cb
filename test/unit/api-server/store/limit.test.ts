import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LimitExceeded } from '../../../../api-server/src/domain/errors.js';
import { answered } from '../domain/helpers.js';
import { IMAGE_TOO_LARGE, limitSize } from '../../../../api-server/src/store/limit.js';

async function through(maxBytes: number, chunks: Buffer[], explanation?: string): Promise<Buffer> {
  const out: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      out.push(chunk);
      callback();
    },
  });
  const limiter = explanation === undefined ? limitSize(maxBytes) : limitSize(maxBytes, explanation);
  try {
    await pipeline(Readable.from(chunks), limiter, sink);
    return Buffer.concat(out);
  } catch (err) {
    Object.assign(err as object, { passed: Buffer.concat(out) });
    throw err;
  }
}

describe('limitSize', () => {
  it('lets exactly maxBytes through', async () => {
    const data = Buffer.from('0123456789');
    await expect(through(10, [data.subarray(0, 4), data.subarray(4)])).resolves.toEqual(data);
  });

  it('fails with 413 and upstream text at maxBytes + 1', async () => {
    const err: unknown = await through(10, [Buffer.alloc(6), Buffer.alloc(5)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LimitExceeded);
    expect(answered(err).status).toBe(413);
    expect(answered(err).explanation).toBe(
      'The incoming image is too large: The provided image is too large.',
    );
    expect(IMAGE_TOO_LARGE).toBe(answered(err).explanation);
    // The chunk that crossed the limit never reaches the store.
    expect((err as { passed: Buffer }).passed.length).toBe(6);
  });

  it('fails a single oversized chunk without passing any of it on', async () => {
    const err = await through(3, [Buffer.from('abcd')]).catch((e: unknown) => e);
    expect(answered(err).status).toBe(413);
    expect((err as { passed: Buffer }).passed.length).toBe(0);
  });

  it('treats a limit of 0 as "no data allowed" but accepts an empty body', async () => {
    await expect(through(0, [])).resolves.toEqual(Buffer.alloc(0));
    await expect(through(0, [Buffer.from('x')])).rejects.toBeInstanceOf(LimitExceeded);
  });

  it('uses the caller explanation when given (e.g. a storage quota)', async () => {
    const err = await through(1, [Buffer.from('xy')], 'quota text').catch((e: unknown) => e);
    expect(answered(err)).toMatchObject({ status: 413, explanation: 'quota text' });
  });
});
