import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { Destination } from './destination.js';

/** One request to a destination `resolveDestination` checked. */
export interface PinnedRequest {
  method: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  /** `user:password` for basic authentication. */
  auth?: string;
  /** A connection, or the body of its answer, that passes no byte for this long fails with `timedOut()`. */
  idleTimeoutMs: number;
  timedOut: () => Error;
  /** For https: whom to trust. */
  tls?: { ca?: Buffer; rejectUnauthorized: boolean };
}

/** net.connect's lookup, answering every query with the one address that was checked. */
function pinnedLookup(dest: Destination): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address: dest.address, family: dest.family }]);
    else callback(null, dest.address, dest.family);
  };
}

/**
 * The one way the server sends a request to an address a user or an image location chose: the connection goes to
 * the address that was checked (DNS cannot answer differently in between), on a socket of its own (a pooled one
 * could be connected elsewhere), and neither the connection nor the answer's body may stall past the idle
 * timeout. Redirects are the caller's to judge, each target checked again.
 */
export function requestPinned(dest: Destination, opts: PinnedRequest): Promise<IncomingMessage> {
  const options: RequestOptions = {
    method: opts.method,
    lookup: pinnedLookup(dest),
    agent: false,
    headers: opts.headers ?? {},
    timeout: opts.idleTimeoutMs,
    ...(opts.auth === undefined ? {} : { auth: opts.auth }),
    ...(dest.scheme === 'https' ? (opts.tls ?? {}) : {}),
  };
  const send = dest.scheme === 'https' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(dest.url, options, (res) => {
      res.socket.setTimeout(opts.idleTimeoutMs, () => res.destroy(opts.timedOut()));
      resolve(res);
    });
    req.on('timeout', () => req.destroy(opts.timedOut()));
    req.on('error', reject);
    req.end();
  });
}
