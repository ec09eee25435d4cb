import { createServer, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { ImageCache } from '../cache/image-cache.js';
import { Prefetcher } from '../cache/prefetcher.js';
import { ImageRepository } from '../db/image-repo.js';
import { MemberRepository } from '../db/member-repo.js';
import { MetadefRepository } from '../db/metadef-repo.js';
import { createPool } from '../db/pool.js';
import { createAuthMiddleware } from '../http/authenticate.js';
import { onClientError } from '../http/client-error.js';
import { handlersInFlight } from '../http/inflight.js';
import { createNotifier } from '../notify/index.js';
import { createQuotas } from '../quota/quotas.js';
import { StoreRegistry } from '../store/registry.js';
import { createApp } from './app.js';
import type { Settings } from './settings.js';

// What only a serving process needs: main.ts imports this module dynamically, so that a cluster primary, which
// only checks the configuration and the schema and then supervises its workers, does not load (and keep
// resident) the express application, its routes and repositories.

// JSON bodies are small documents; 1 MiB holds the largest legitimate PATCH with room to spare.
const JSON_BODY_LIMIT = 1024 * 1024;
// Node's parser limit for the request line plus all headers (upstream's eventlet allows 16 KiB per line).
const MAX_HEADER_BYTES = 32 * 1024;
// Idle sockets are dropped after upstream's client_socket_timeout default.
const SOCKET_IDLE_MS = 900_000;
// How long a stopping server keeps answering on open connections, each answer closing its connection.
const DRAIN_MS = 2_000;

/** One serving process: the application on [DEFAULT] bind_host:bind_port until SIGTERM or SIGINT. */
export async function serve(
  { cfg, domain, policy, stores: layout, cache: cacheConfig, notify }: Settings,
  shutdownTimeoutMs: number,
  log: Logger,
): Promise<void> {
  const pool = createPool(cfg.database.connection);
  const stores = new StoreRegistry(layout);
  const images = new ImageRepository(pool);
  const cache = cacheConfig ? new ImageCache(cacheConfig, log) : null;
  await cache?.dir.prepare();
  const prefetcher = cache ? new Prefetcher(cache, images, stores, log) : null;
  const notifier = createNotifier(notify, log);
  const app = createApp({
    config: cfg,
    domain,
    images,
    members: new MemberRepository(pool),
    metadefs: new MetadefRepository(pool),
    stores,
    policy,
    authenticate: createAuthMiddleware(cfg, log, { policy }),
    logger: log,
    jsonBodyLimit: JSON_BODY_LIMIT,
    healthcheckDisableFile: '/etc/glance/healthcheck_disable',
    quotas: createQuotas(cfg, pool),
    cache,
    notifier,
  });
  // requestTimeout 0: an upload may legitimately take hours; idle sockets are still dropped.
  const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES, requestTimeout: 0 }, app);
  server.setTimeout(SOCKET_IDLE_MS);
  server.on('clientError', onClientError(log));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.DEFAULT.bind_port, cfg.DEFAULT.bind_host, () => resolve());
  });
  log.info({ host: cfg.DEFAULT.bind_host, port: cfg.DEFAULT.bind_port }, 'listening');
  prefetcher?.start();

  // Before the listener closes, keep-alive clients are told to reconnect (to another pod, once this one's
  // endpoint is gone): closing a connection while it is idle can cross a request the client has just sent on it.
  let draining = false;
  server.prependListener('request', (_req, res: ServerResponse) => {
    if (draining) res.shouldKeepAlive = false;
  });

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    draining = true;
    log.info({ signal, inFlight: handlersInFlight.count }, 'shutting down: answering with Connection: close');
    await sleep(DRAIN_MS);
    log.info({ inFlight: handlersInFlight.count }, 'shutting down: no new connections');
    server.close();
    const finished = await Promise.race([
      handlersInFlight.idle().then(() => true),
      sleep(shutdownTimeoutMs).then(() => false),
    ]);
    if (!finished) {
      // Aborted uploads put their images back to queued and remove their data before the handlers end.
      log.warn({ inFlight: handlersInFlight.count }, 'shutdown timeout: closing the remaining connections');
      server.closeAllConnections();
      await Promise.race([handlersInFlight.idle(), sleep(10_000)]);
    }
    await prefetcher?.stop();
    // What the requests notified is handed to the broker within close()'s bound (5 s), then the link closes.
    await notifier.close();
    await pool.end();
    await stores.close();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
