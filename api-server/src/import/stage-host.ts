import type { Logger } from 'pino';
import type { GlanceConfig } from '../config/index.js';
import { GlanceError, RemoteRefused } from '../domain/errors.js';
import type { ImageRecord } from '../domain/types.js';
import { STAGE_HOST } from './bookkeeping.js';

// upstream's proxy gives the stage host 60 seconds to answer.
const PROXY_TIMEOUT_MS = 60_000;

// Failures to reach the host at all, which upstream (requests' ConnectionError) answers with 504.
const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

// Duck-typed: fetch's errors may come from another realm (a vm context), where instanceof Error fails.
function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err; typeof e === 'object' && e !== null; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** The stage host could not be reached (upstream's HTTPServerError from its proxy, not a proxied answer). */
export class StageHostUnavailable extends GlanceError {
  /** Not reached at all (upstream's 504), or broken off after connecting (502). */
  readonly kind: 'gateway-timeout' | 'bad-gateway';

  constructor(unreachable: boolean) {
    super('Stage host is unavailable');
    this.kind = unreachable ? 'gateway-timeout' : 'bad-gateway';
  }
}

/** What is proxied: the request as the client made it to this worker. */
export interface ProxiedRequest {
  method: 'POST' | 'DELETE';
  /** The request path, without its query (webob's req.path). */
  path: string;
  authToken: string | null;
  body?: unknown;
}

/**
 * Distributed import: the worker that staged an image's data records its own URL on the image
 * (os_glance_stage_host, from worker_self_reference_url, else public_endpoint); an import or delete reaching
 * another worker is sent on to that one with the user's token, as upstream's _proxy_request_to_stage_host does.
 */
export class StageHosts {
  /** This worker's URL, recorded on the images it stages; null when neither option sets it. */
  readonly selfUrl: string | null;

  constructor(config: GlanceConfig) {
    this.selfUrl = config.DEFAULT.worker_self_reference_url ?? config.DEFAULT.public_endpoint;
  }

  /** is_proxyable: the worker holding the image's staged data, when that is not this one. */
  holderOf(image: ImageRecord): string | null {
    const host = image.properties[STAGE_HOST];
    return host !== undefined && host !== null && host !== this.selfUrl ? host : null;
  }

  /**
   * Sends the request to `host` and returns the request id it answered with. Its client errors come back as
   * the same status; a host that cannot be reached is StageHostUnavailable.
   */
  async proxy(host: string, request: ProxiedRequest, log: Logger): Promise<string | null> {
    const url = `${host}${request.path}`;
    log.info(
      { method: request.method, stageHost: host },
      'proxying the request to the worker that has the image staged',
    );
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (request.authToken !== null) headers['X-Auth-Token'] = request.authToken;
    if (request.body !== undefined) headers['Content-Type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(url, {
        method: request.method,
        headers,
        ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
        signal: AbortSignal.timeout(PROXY_TIMEOUT_MS),
      });
    } catch (err) {
      const code = errorCode(err);
      log.error({ url, code, reason: (err as Error).message }, 'failed to proxy to the stage host');
      throw new StageHostUnavailable(code !== undefined && CONNECT_ERRORS.has(code));
    }
    await response.body?.cancel();
    const requestId = response.headers.get('x-openstack-request-id');
    if (Math.floor(response.status / 100) !== 2) {
      // proxy_response_error: the remote's status, with none of its explanation.
      throw new RemoteRefused(response.status);
    }
    return requestId;
  }
}
