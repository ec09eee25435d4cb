import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import type { LookupFunction, Socket } from 'node:net';
import { pinnedLookup, type UrlPolicy } from '../net/url-policy.js';
import { TerminalError } from '../runtime/errors.js';

/** How to reach a source: what the spec's Secrets, ConfigMap and proxy resolved to. */
export interface SourceAccess {
  headers: Record<string, string>;
  basicAuth?: { username: string; password: string };
  /** PEM certificates replacing the system trust store. */
  ca?: string;
  proxy?: string;
  /** Where the operator may connect on the author's behalf: every hop and the proxy are checked and pinned. */
  policy: UrlPolicy;
}

/**
 * A source answered in a way retrying may change (5xx, 408, 429) or that ends one attempt (no Range support).
 * Answers retrying will not change (a 4xx other than 408/429, a redirect loop) are TerminalErrors: the Image
 * is Stalled at once.
 */
export class SourceError extends Error {
  override readonly name = 'SourceError';
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const MAX_REDIRECTS = 5;
const HEAD_TIMEOUT_MS = 30_000;
/** A source silent this long mid-body is taken as a dropped connection, and resumed. */
const IDLE_TIMEOUT_MS = 60_000;

/** The URL with its userinfo and query removed: what may appear in a status or a log. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '<invalid URL>';
  }
}

function tunnel(
  proxy: URL,
  proxyLookup: LookupFunction,
  target: URL,
  ca: string | undefined,
  signal: AbortSignal,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const port = target.port || '443';
    const req = httpRequest({
      host: proxy.hostname,
      port: proxy.port || 80,
      lookup: proxyLookup,
      method: 'CONNECT',
      path: `${target.hostname}:${port}`,
      headers: { Host: `${target.hostname}:${port}` },
      signal,
    });
    req.once('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        reject(new Error(`proxy refused CONNECT to ${target.host}: HTTP ${res.statusCode}`));
        return;
      }
      const tls = tlsConnect({ socket, servername: target.hostname, ...(ca ? { ca } : {}) });
      tls.once('secureConnect', () => resolve(tls));
      tls.once('error', reject);
    });
    req.once('error', reject);
    req.end();
  });
}

async function once(
  url: URL,
  access: SourceAccess,
  headers: OutgoingHttpHeaders,
  signal: AbortSignal,
): Promise<IncomingMessage> {
  const proxy = access.proxy ? new URL(access.proxy) : undefined;
  const https = url.protocol === 'https:';
  // Checked here, connected there: the socket goes to the address the policy allowed, never to a second answer
  // of the same name. Behind a proxy the proxy resolves the target; its name is still checked from here.
  const checked = await access.policy.check(url);
  const lookup = proxy ? pinnedLookup(await access.policy.check(proxy)) : pinnedLookup(checked);
  // A connection per request: a transfer is long, and a pooled socket would collect idle-timeout listeners.
  const options = {
    agent: false,
    method: 'GET',
    headers: { ...headers, Host: url.host },
    signal,
    ...(https && access.ca ? { ca: access.ca } : {}),
  };
  let req;
  if (proxy && !https) {
    // A plain-HTTP proxy is sent the absolute URL.
    req = httpRequest({ ...options, host: proxy.hostname, port: proxy.port || 80, path: url.href, lookup });
  } else if (proxy) {
    const socket = await tunnel(proxy, lookup, url, access.ca, signal);
    req = httpsRequest(url, { ...options, createConnection: () => socket });
  } else {
    req = (https ? httpsRequest : httpRequest)(url, { ...options, lookup });
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => req.destroy(new Error('no answer from the source')), HEAD_TIMEOUT_MS);
    req.once('response', (res) => {
      clearTimeout(timer);
      res.socket.setTimeout(IDLE_TIMEOUT_MS, () => res.destroy(new Error('source stalled mid-transfer')));
      resolve(res);
    });
    req.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end();
  });
}

/**
 * GETs `url`, following redirects. Credentials (basic auth, Secret headers) go to the origin of `url` only:
 * a redirect elsewhere does not carry them. Answers other than 2xx are thrown as SourceError, terminal for a 4xx.
 */
export async function openSource(
  url: string,
  access: SourceAccess,
  extra: OutgoingHttpHeaders,
  signal: AbortSignal,
): Promise<{ res: IncomingMessage; url: string }> {
  const origin = new URL(url).origin;
  let current = new URL(url);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const sameOrigin = current.origin === origin;
    const headers: OutgoingHttpHeaders = { 'User-Agent': 'glance-operator', ...extra };
    if (sameOrigin) {
      Object.assign(headers, access.headers);
      if (access.basicAuth) {
        const { username, password } = access.basicAuth;
        headers.Authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
      }
    }
    const res = await once(current, access, headers, signal);
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume();
      const next = new URL(res.headers.location, current);
      access.policy.checkRedirect(current, next);
      current = next;
      continue;
    }
    if (status >= 200 && status < 300) return { res, url: current.href };
    res.resume();
    const message = `${redact(current.href)} answered HTTP ${status}`;
    if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
      throw new TerminalError('SourceRefused', message);
    }
    throw new SourceError('SourceUnavailable', message);
  }
  throw new TerminalError('TooManyRedirects', `${redact(url)} redirected more than ${MAX_REDIRECTS} times`);
}
