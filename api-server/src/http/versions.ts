import type { Request, RequestHandler } from 'express';
import { sendJson } from './respond.js';

/** The settings that change which API versions upstream advertises and accepts. */
export interface VersionOptions {
  publicEndpoint: string | null;
  cacheEnabled: boolean;
  multistore: boolean;
}

interface VersionEntry {
  id: string;
  status: 'CURRENT' | 'SUPPORTED';
}

// glance/api/versions.py: the list a deployment advertises depends on caching and multistore.
function versionList(opts: VersionOptions): VersionEntry[] {
  const list: VersionEntry[] = opts.cacheEnabled
    ? [
        { id: 'v2.16', status: 'CURRENT' },
        { id: 'v2.15', status: 'SUPPORTED' },
        { id: 'v2.14', status: 'SUPPORTED' },
      ]
    : [{ id: 'v2.15', status: 'CURRENT' }];
  const middle = opts.multistore ? ['v2.13', 'v2.12', 'v2.11', 'v2.10', 'v2.9', 'v2.8'] : ['v2.9'];
  const tail = ['v2.7', 'v2.6', 'v2.5', 'v2.4', 'v2.3', 'v2.2', 'v2.1', 'v2.0'];
  for (const id of [...middle, ...tail]) list.push({ id, status: 'SUPPORTED' });
  return list;
}

/** URL prefixes (and vnd media-type suffixes) version_negotiation maps to the v2 API. */
export function acceptedVersions(opts: VersionOptions): Set<string> {
  const ids = ['v2', 'v2.0', 'v2.1', 'v2.2', 'v2.3', 'v2.4', 'v2.5', 'v2.6', 'v2.7', 'v2.9', 'v2.15'];
  if (opts.cacheEnabled) ids.push('v2.14', 'v2.16');
  if (opts.multistore) ids.push('v2.8', 'v2.10', 'v2.11', 'v2.12', 'v2.13');
  return new Set(ids);
}

function baseUrl(req: Request, opts: VersionOptions): string {
  if (opts.publicEndpoint) return opts.publicEndpoint;
  const host = req.headers.host ?? `${req.socket.localAddress ?? 'localhost'}:${req.socket.localPort ?? 80}`;
  return `${req.protocol}://${host}`;
}

export function versionsDocument(req: Request, opts: VersionOptions): unknown {
  const href = `${baseUrl(req, opts).replace(/\/+$/, '')}/v2/`;
  return {
    versions: versionList(opts).map((v) => ({ id: v.id, status: v.status, links: [{ rel: 'self', href }] })),
  };
}

const VND_PREFIX = 'application/vnd.openstack.images-';

/**
 * Upstream's VersionNegotiationFilter: `/versions…` answers 200, a known version (from a vnd Accept type or the
 * first path segment) is rewritten to `/v2…`, and anything else gets the 300 choices document. Runs before
 * authentication, so these answers need no token.
 */
export function versionNegotiation(opts: VersionOptions): RequestHandler {
  const accepted = acceptedVersions(opts);
  return (req, res, next) => {
    const path = req.path;
    const firstSegment = path.replace(/^\/+/, '').split('/')[0] ?? '';
    const send = (status: number): void => {
      sendJson(res, status, versionsDocument(req, opts), true);
    };
    if (firstSegment === 'versions') {
      send(200);
      return;
    }
    const accept = req.headers.accept ?? '';
    let version: string;
    let rest: string;
    if (accept.startsWith(VND_PREFIX)) {
      version = accept.slice(VND_PREFIX.length);
      rest = path;
    } else {
      const stripped = path.replace(/^\/+/, '');
      const slash = stripped.indexOf('/');
      version = slash < 0 ? stripped : stripped.slice(0, slash);
      rest = slash < 0 ? '' : stripped.slice(slash);
    }
    if (!accepted.has(version)) {
      send(300);
      return;
    }
    const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
    req.url = `/v2${rest}${query}`;
    next();
  };
}
