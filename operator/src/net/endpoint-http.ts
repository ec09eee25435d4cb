import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { pinnedLookup, type UrlPolicy } from './url-policy.js';

export interface EndpointRequest {
  method: string;
  headers?: OutgoingHttpHeaders;
  body?: string;
  timeoutMs: number;
}

export interface EndpointResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/**
 * The Keystone and Glance APIs a resource names (an Image's `cloud`, a GlanceService's `keystone.authUrl`, the
 * image endpoint of a catalog), reached under the URL policy: the address of every request is checked first
 * (reason EndpointNotAllowed) and its socket pinned there, and no redirect is followed (a 3xx is the caller's
 * error), so passwords and tokens go nowhere the policy did not look. `trusted` origins are the operator's own
 * (a GlanceService's API Service, which it created): resolved as usual, not checked.
 */
export class EndpointHttp {
  private readonly trusted: ReadonlySet<string>;

  constructor(
    private readonly policy: UrlPolicy,
    trusted: readonly string[] = [],
  ) {
    this.trusted = new Set(trusted.map((u) => new URL(u).origin));
  }

  /** The lookup a connection to `url` must use (undefined: a trusted origin); throws when the policy refuses it. */
  async lookupFor(url: URL): Promise<LookupFunction | undefined> {
    if (this.trusted.has(url.origin)) return undefined;
    return pinnedLookup(await this.policy.check(url, 'EndpointNotAllowed'));
  }

  async request(url: string, init: EndpointRequest): Promise<EndpointResponse> {
    const target = new URL(url);
    const lookup = await this.lookupFor(target);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers: OutgoingHttpHeaders = { ...init.headers };
    if (init.body !== undefined) headers['Content-Length'] = Buffer.byteLength(init.body);
    return new Promise((resolve, reject) => {
      const req = send(
        target,
        {
          method: init.method,
          headers,
          // A socket per request: a pooled one could carry a request to an address checked for another.
          agent: false,
          signal: AbortSignal.timeout(init.timeoutMs),
          ...(lookup ? { lookup } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.once('error', reject);
          res.once('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
        },
      );
      req.once('error', reject);
      req.end(init.body);
    });
  }
}
