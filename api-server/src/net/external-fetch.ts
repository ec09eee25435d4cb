import type { IncomingMessage } from 'node:http';
import { resolveDestination, type Destination, type Resolve } from './destination.js';
import { requestPinned } from './guarded-request.js';
import { redactedUri, UriRefused, type ImportFiltering } from './uri-filter.js';

/** A download the server refused or could not complete; the message is fit for a task's `message`. */
export class FetchFailed extends Error {
  override readonly name = 'FetchFailed';
}

export interface FetchOptions {
  filtering: ImportFiltering;
  resolve: Resolve;
  /** A stalled connection (no bytes either way) fails after this long. */
  idleTimeoutMs: number;
  /**
   * Sent with the request, and with redirects that stay on the same origin: unlike urllib, which sends them
   * anywhere, a user's token never goes to a host the user did not name.
   */
  headers?: Record<string, string>;
}

export interface ExternalData {
  body: IncomingMessage;
  /** The Content-Length the server announced, if any. */
  contentLength: number | null;
}

// urllib's HTTPRedirectHandler: these statuses are followed, at most max_redirections (10) times.
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;

function get(
  dest: Destination,
  idleTimeoutMs: number,
  extra: Record<string, string>,
): Promise<IncomingMessage> {
  return requestPinned(dest, {
    method: 'GET',
    headers: { 'User-Agent': 'glance-api', Accept: '*/*', 'Accept-Encoding': 'identity', ...extra },
    idleTimeoutMs,
    timedOut: () => new FetchFailed(`Timed out fetching ${redactedUri(dest.url.href)}`),
  });
}

/**
 * Opens `uri` for reading the way upstream's open_external_uri does: the URI and every redirect target must
 * pass the import filter (lists, resolution, internal addresses), and each connection is pinned to the address
 * that was checked, so DNS cannot send it elsewhere in between. Only a 2xx answer is data.
 */
export async function openExternal(uri: string, opts: FetchOptions): Promise<ExternalData> {
  let current = uri;
  for (let hops = 0; ; hops++) {
    let dest: Destination;
    try {
      dest = await resolveDestination(current, opts.filtering, opts.resolve);
    } catch (err) {
      if (!(err instanceof UriRefused)) throw err;
      throw new FetchFailed(
        hops === 0
          ? `URI does not pass filtering: ${redactedUri(current)}`
          : `Redirect to disallowed URL: ${redactedUri(current)}`,
        { cause: err },
      );
    }
    const sameOrigin = dest.url.origin === new URL(uri).origin;
    const res = await get(dest, opts.idleTimeoutMs, sameOrigin ? (opts.headers ?? {}) : {}).catch(
      (err: unknown) => {
        if (err instanceof FetchFailed) throw err;
        throw new FetchFailed(`Could not fetch ${redactedUri(current)}: ${(err as Error).message}`, {
          cause: err,
        });
      },
    );
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (REDIRECTS.has(status) && location !== undefined) {
      res.destroy();
      if (hops + 1 > MAX_REDIRECTS) throw new FetchFailed(`Too many redirects fetching ${redactedUri(uri)}`);
      try {
        current = new URL(location, dest.url).href;
      } catch {
        throw new FetchFailed(`Redirect to disallowed URL: ${redactedUri(location)}`);
      }
      continue;
    }
    if (status < 200 || status >= 300) {
      res.destroy();
      throw new FetchFailed(
        `HTTP Error ${status}: ${res.statusMessage ?? ''} fetching ${redactedUri(current)}`.trim(),
      );
    }
    const declared = res.headers['content-length'];
    return {
      body: res,
      contentLength: declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : null,
    };
  }
}
