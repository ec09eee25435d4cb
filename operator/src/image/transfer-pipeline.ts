import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Compression, DiskFormat } from '../api/image-types.js';
import { TerminalError } from '../runtime/errors.js';
import { DigestCheck, fileNameOf, findInChecksumFile, type ExpectedDigest } from './checksum.js';
import { decompress, detectCompression, MAGIC_BYTES } from './decompress.js';
import { formatMismatch, sniffFormat, SNIFF_BYTES } from './disk-format.js';
import { openSource, redact, SourceError, type SourceAccess } from './http-source.js';

export interface TransferPlan {
  url: string;
  access: SourceAccess;
  expected?: ExpectedDigest;
  decompress: 'auto' | 'none' | Compression;
  diskFormat: DiskFormat;
  /** Reconnections allowed in a row without progress. */
  retries: number;
  /** First reconnection delay, doubled each time (30 s at most). */
  retryBaseMs?: number;
}

/** Read by the reconciler while the transfer runs. */
export interface TransferProgress {
  /** Source bytes received. */
  bytes: number;
  /** Source size, when it said. */
  total?: number;
  /** Reconnections that resumed with Range. */
  resumes: number;
}

export interface TransferResult {
  sourceDigest?: string;
  compression?: Compression;
  /**
   * What Glance was sent: its length, and its digest when the declared one covers it (no decompression), for
   * comparing with the digests Glance computes. The operator does not hash the data again itself: on the
   * machines it shares with the image API, a second md5 of every byte cost ~1.7 CPU-s per GiB.
   */
  uploaded: { bytes: number; digest?: ExpectedDigest };
}

/** The data is not what diskFormat says: refused before any of it reaches Glance. */
export class FormatMismatchError extends TerminalError {
  override readonly name = 'FormatMismatchError';
  constructor(message: string) {
    super('FormatMismatch', message);
  }
}

export type Uploader = (data: Readable, signal: AbortSignal) => Promise<void>;

/**
 * Runs one transfer: the digest comes from `plan.expected`, or else from the checksum file at `checksumURL`.
 * `streamFromSource` is the real one; reconciler tests hand in another.
 */
export type TransferRunner = (
  plan: TransferPlan & { checksumURL?: string | undefined },
  upload: Uploader,
  progress: TransferProgress,
  signal: AbortSignal,
) => Promise<TransferResult>;

const MAX_CHECKSUM_FILE = 1024 * 1024;

/** The digest the checksum file at `url` lists for the source's file name. */
async function fetchChecksumFile(
  url: string,
  access: SourceAccess,
  sourceUrl: string,
): Promise<ExpectedDigest> {
  const { res } = await openSource(url, access, {}, AbortSignal.timeout(60_000));
  let text = '';
  for await (const chunk of res) {
    text += String(chunk);
    if (text.length > MAX_CHECKSUM_FILE) {
      res.destroy();
      throw new TerminalError('ChecksumFileTooLarge', 'the checksum file is larger than 1 MiB');
    }
  }
  const name = fileNameOf(sourceUrl);
  const found = findInChecksumFile(text, name);
  if (!found) throw new TerminalError('ChecksumNotFound', `the checksum file lists no digest for ${name}`);
  return found;
}

const backoffMs = (base: number, failures: number) => Math.min(base * 2 ** (failures - 1), 30_000);

function validatorOf(res: IncomingMessage): string | undefined {
  const etag = res.headers.etag;
  // If-Range needs a strong validator.
  if (etag && !etag.startsWith('W/')) return etag;
  return res.headers['last-modified'];
}

/**
 * The source's bytes, once each, across reconnections: a dropped connection is resumed with
 * `Range: bytes=<received>-` (and If-Range, so a changed file is not spliced). A source that answers a Range
 * request with the whole file cannot be resumed: that ends the transfer, to be retried from zero.
 */
async function* sourceBytes(
  plan: TransferPlan,
  progress: TransferProgress,
  digest: DigestCheck | undefined,
  signal: AbortSignal,
): AsyncGenerator<Buffer> {
  let offset = 0;
  let failures = 0;
  let validator: string | undefined;
  for (;;) {
    let res: IncomingMessage | undefined;
    try {
      const headers: Record<string, string> =
        offset > 0 ? { Range: `bytes=${offset}-`, ...(validator ? { 'If-Range': validator } : {}) } : {};
      res = (await openSource(plan.url, plan.access, headers, signal)).res;
      if (offset > 0) {
        const range = /^bytes (\d+)-/.exec(res.headers['content-range'] ?? '');
        if (res.statusCode !== 206 || Number(range?.[1]) !== offset) {
          throw new SourceError(
            'RangeUnsupported',
            `${redact(plan.url)} answered a Range request with the whole file; starting again from zero`,
          );
        }
      } else {
        const length = Number(res.headers['content-length']);
        if (Number.isSafeInteger(length) && length >= 0) progress.total = length;
        validator = validatorOf(res);
      }
      for await (const chunk of res as AsyncIterable<Buffer>) {
        offset += chunk.length;
        progress.bytes = offset;
        digest?.update(chunk);
        failures = 0;
        yield chunk;
      }
      if (progress.total !== undefined && offset < progress.total) {
        throw new Error(`the source closed the connection after ${offset} of ${progress.total} bytes`);
      }
      break;
    } catch (err) {
      if (
        signal.aborted ||
        err instanceof TerminalError ||
        (err instanceof SourceError && err.reason === 'RangeUnsupported')
      ) {
        throw err;
      }
      if (++failures > plan.retries) throw err;
      await sleep(backoffMs(plan.retryBaseMs ?? 1000, failures), undefined, { signal });
      if (offset > 0) progress.resumes++;
    } finally {
      res?.destroy();
    }
  }
  // Thrown before the stream ends, so that Glance never sees a complete upload of the wrong bytes.
  digest?.verify();
}

/** A stream's first chunks, at least `n` bytes of them unless it is shorter, read ahead of the rest. */
interface Peeked {
  head: Buffer;
  /** Every chunk, those read ahead included, once. */
  all: AsyncGenerator<Buffer>;
  /**
   * Ends the stream underneath, which `all` only does once started: a generator that never ran has no
   * `finally` to run.
   */
  close(): Promise<unknown>;
}

/**
 * Reads ahead on the iterator itself rather than through another stream, so that the bytes after the head pass
 * through no extra stage: each stage costs CPU for every chunk of the image.
 */
async function peek(source: AsyncIterable<Buffer>, n: number): Promise<Peeked> {
  const it = source[Symbol.asyncIterator]();
  const ahead: Buffer[] = [];
  let size = 0;
  let done = false;
  while (size < n) {
    const next = await it.next();
    if (next.done) {
      done = true;
      break;
    }
    ahead.push(next.value);
    size += next.value.length;
  }
  async function* all(): AsyncGenerator<Buffer> {
    try {
      yield* ahead.splice(0);
      if (done) return;
      for (let next = await it.next(); !next.done; next = await it.next()) yield next.value;
    } finally {
      await it.return?.();
    }
  }
  return { head: Buffer.concat(ahead), all: all(), close: async () => it.return?.() };
}

/**
 * Streams the source into Glance through checksum verification, decompression and format sniffing, with
 * bounded memory: each stage holds at most a stream buffer (the sniffer 64 KiB). The format is checked before
 * the upload starts, so a mismatch leaves the image without data.
 */
export async function transfer(
  plan: TransferPlan,
  upload: Uploader,
  progress: TransferProgress,
  signal: AbortSignal,
): Promise<TransferResult> {
  const digest = plan.expected ? new DigestCheck(plan.expected) : undefined;
  const source = sourceBytes(plan, progress, digest, signal);
  // One read-ahead serves both the compression magic and, for uncompressed data, the format sniffer.
  let peeked = await peek(
    source,
    plan.decompress === 'none' ? SNIFF_BYTES : Math.max(MAGIC_BYTES, SNIFF_BYTES),
  );
  let compression: Compression | undefined;
  if (plan.decompress !== 'none') {
    compression = plan.decompress === 'auto' ? detectCompression(peeked.head) : plan.decompress;
    if (compression) {
      const decompressed = decompress(Readable.from(peeked.all, { objectMode: false }), compression);
      peeked = await peek(decompressed as AsyncIterable<Buffer>, SNIFF_BYTES);
    }
  }
  const { head, all } = peeked;
  const mismatch = formatMismatch(plan.diskFormat, sniffFormat(head));
  if (mismatch) {
    await peeked.close();
    throw new FormatMismatchError(mismatch);
  }
  let bytes = 0;
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of all) {
      bytes += chunk.length;
      yield chunk;
    }
  }
  try {
    await upload(Readable.from(counted(), { objectMode: false }), signal);
  } finally {
    await peeked.close();
  }
  return {
    ...(digest ? { sourceDigest: `${digest.expected.algorithm}:${digest.expected.hex}` } : {}),
    ...(compression ? { compression } : {}),
    uploaded: { bytes, ...(digest && !compression ? { digest: digest.expected } : {}) },
  };
}

export const streamFromSource: TransferRunner = async (
  { checksumURL, ...plan },
  upload,
  progress,
  signal,
) => {
  if (!plan.expected && checksumURL)
    plan.expected = await fetchChecksumFile(checksumURL, plan.access, plan.url);
  return transfer(plan, upload, progress, signal);
};
