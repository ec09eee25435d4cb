import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { resolveDestination, resolveWithDns, type Resolve } from '../net/destination.js';
import { requestPinned } from '../net/guarded-request.js';
import type { ImportFiltering } from '../net/uri-filter.js';
import { StoreError, storeAddDisabled } from './errors.js';
import { formatHttpLocation, parseHttpLocation, type HttpLocation } from './http-location.js';
import type { ByteRange, Store, StoredObject } from './store.js';

/** The [glance_store] (or backend section) options of an http store, as upstream names them. */
export interface HttpStoreOptions {
  https_insecure: boolean;
  https_ca_certificates_file: string | null;
  /**
   * [import_filtering_opts]: every hop of every HEAD and GET is judged as a web-download is, not only the URL a
   * location was added with, so a location cannot later redirect (or resolve) to an address the filter refuses.
   */
  filtering: ImportFiltering;
  /** Default: the system resolver. */
  resolve?: Resolve;
  /** A connection or body that passes no byte for this long fails. Default 60 s. */
  idleTimeoutMs?: number;
}

// glance_store's MAX_REDIRECTS.
const MAX_REDIRECTS = 5;

/** Passes bytes `start`..`end` (inclusive) of a stream that begins at byte 0, for servers that ignore Range. */
class Slice extends Transform {
  #offset = 0;
  readonly #first: number;
  readonly #last: number;

  constructor(first: number, last: number) {
    super();
    this.#first = first;
    this.#last = last;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const from = Math.max(this.#first - this.#offset, 0);
    const to = Math.min(this.#last + 1 - this.#offset, chunk.length);
    this.#offset += chunk.length;
    if (to > from) this.push(chunk.subarray(from, to));
    done();
  }
}

/**
 * glance_store's http driver: read-only images whose data an http(s) server holds. Sizes come from a HEAD's
 * Content-Length, data streams from a GET; 301 and 302 redirects are followed (at most five), other redirects
 * and errors make the location invalid. Writes are refused with StoreAddDisabled, as upstream; deleting only
 * forgets the location (upstream's StoreDeleteNotSupported is a warning). Unlike upstream, each hop goes through
 * the import filter and is pinned to the address it checked (net/guarded-request.ts).
 */
export class HttpStore implements Store {
  readonly scheme = 'http';
  readonly #tls: { ca?: Buffer; rejectUnauthorized: boolean };
  readonly #filtering: ImportFiltering;
  readonly #resolve: Resolve;
  readonly #idleTimeoutMs: number;

  constructor(options: HttpStoreOptions) {
    const ca = options.https_ca_certificates_file;
    this.#tls = ca
      ? { ca: readFileSync(ca), rejectUnauthorized: true }
      : { rejectUnauthorized: !options.https_insecure };
    this.#filtering = options.filtering;
    this.#resolve = options.resolve ?? resolveWithDns;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  }

  add(_imageId: string, _data: NodeJS.ReadableStream): Promise<StoredObject> {
    return Promise.reject(storeAddDisabled());
  }

  async get(location: string, range?: ByteRange): Promise<NodeJS.ReadableStream> {
    const headers: Record<string, string> = range ? { Range: `bytes=${range.start}-${range.end}` } : {};
    const res = await this.#query(parseHttpLocation(location), 'GET', headers, (err) => {
      return new StoreError('unavailable', 'Remote server where the image is present is unavailable.', {
        cause: err,
      });
    });
    if (!range || res.statusCode === 206) return res;
    return res.pipe(new Slice(range.start, range.end));
  }

  async size(location: string): Promise<number> {
    const res = await this.#query(parseHttpLocation(location), 'HEAD', {}, (err) => {
      return new StoreError('bad-location', `The HTTP URL is invalid: ${(err as Error).message}`, {
        cause: err,
      });
    });
    res.resume();
    return Number(res.headers['content-length'] ?? 0) || 0;
  }

  async delete(_location: string): Promise<void> {
    // The data belongs to the http server: Glance never removes it.
  }

  /** Upstream's _query: follows 301/302 until a status below 300. */
  async #query(
    start: HttpLocation,
    method: 'GET' | 'HEAD',
    headers: Record<string, string>,
    unreachable: (err: unknown) => StoreError,
  ): Promise<IncomingMessage> {
    let loc = start;
    for (let followed = 0; followed < MAX_REDIRECTS; followed++) {
      const res = await this.#request(loc, method, headers).catch((err: unknown) => {
        throw unreachable(err);
      });
      const status = res.statusCode ?? 0;
      if (status < 300) return res;
      res.resume();
      if (status === 404) throw new StoreError('not-found', 'HTTP datastore could not find image at URI.');
      if (status >= 400) {
        throw new StoreError('bad-location', `HTTP URL ${loc.path} returned a ${status} status code.`);
      }
      const target = res.headers.location;
      if ((status !== 301 && status !== 302) || target === undefined) {
        throw new StoreError(
          'bad-location',
          `The HTTP URL ${loc.path} attempted to redirect with an invalid ${status} status code.`,
        );
      }
      loc = parseHttpLocation(new URL(target, formatHttpLocation(loc)).toString());
    }
    throw new StoreError('bad-location', `The HTTP URL exceeded ${MAX_REDIRECTS} maximum redirects.`);
  }

  async #request(
    loc: HttpLocation,
    method: 'GET' | 'HEAD',
    headers: Record<string, string>,
  ): Promise<IncomingMessage> {
    const url = formatHttpLocation({ ...loc, user: null, password: null });
    const dest = await resolveDestination(url, this.#filtering, this.#resolve);
    return requestPinned(dest, {
      method,
      headers,
      ...(loc.user === null ? {} : { auth: `${loc.user}:${loc.password ?? ''}` }),
      idleTimeoutMs: this.#idleTimeoutMs,
      timedOut: () => new Error(`no data from ${dest.host} for ${this.#idleTimeoutMs / 1000} s`),
      tls: this.#tls,
    });
  }
}
