import cluster from 'node:cluster';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { homedir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import pino, { type Logger } from 'pino';
import { createPolicy, type Policy } from './auth/policy.js';
import { cacheSettings, type CacheSettings } from './cache/settings.js';
import { ConfigError, loadConfig, type GlanceConfig } from './config/index.js';
import { migrate, SchemaVersionError } from './db/migrate.js';
import { createPool } from './db/pool.js';
import type { JsonObject } from './domain/json-schema.js';
import { imageSchemaSpec } from './domain/schemas.js';
import { DEFAULT_DOMAIN_CONFIG, type DomainConfig } from './domain/types.js';
import { DEFAULT_METADEFS_DIR, loadMetadefs } from './metadefs/loader.js';
import { resolveStoreLayout, type StoreLayout } from './store/store-config.js';

const USAGE = `usage: main.js [db-sync | db-load-metadefs [PATH]] --config-file PATH [--migrate] [--shutdown-timeout SECONDS]

  (no command)      check the database schema, then serve the Image API with [DEFAULT] workers processes
  db-sync           create the schema in an empty database (like glance-manage db_sync) and exit
  db-load-metadefs  load the metadata definition files of PATH (default ${DEFAULT_METADEFS_DIR}), skipping
                    namespaces already in the database (like glance-manage db_load_metadefs), and exit
  --migrate     create the schema first when the database is empty, then serve
`;

// Exit statuses: 2 for a bad command line or configuration, 1 for a runtime failure.
class UsageError extends Error {}

interface Options {
  command: 'serve' | 'db-sync' | 'db-load-metadefs';
  /** db-load-metadefs: the definitions directory (or file). */
  metadefsPath: string;
  configFile: string;
  migrate: boolean;
  shutdownTimeoutMs: number;
}

function parseOptions(argv: string[]): Options {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'config-file': { type: 'string' },
      migrate: { type: 'boolean', default: false },
      'shutdown-timeout': { type: 'string', default: '60' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const [command = 'serve', ...extra] = positionals;
  const maxExtra = command === 'db-load-metadefs' ? 1 : 0;
  if (
    (command !== 'serve' && command !== 'db-sync' && command !== 'db-load-metadefs') ||
    extra.length > maxExtra
  ) {
    throw new UsageError(`unknown command: ${positionals.join(' ')}`);
  }
  if (!values['config-file']) throw new UsageError('--config-file is required');
  const timeout = Number(values['shutdown-timeout']);
  if (!Number.isFinite(timeout) || timeout < 0)
    throw new UsageError('--shutdown-timeout must be a number of seconds');
  return {
    command,
    metadefsPath: extra[0] ?? DEFAULT_METADEFS_DIR,
    configFile: values['config-file'],
    migrate: values.migrate,
    shutdownTimeoutMs: timeout * 1000,
  };
}

// upstream's load_custom_properties: the first schema-image.json oslo.config's find_file sees (beside the
// configuration file, then ~/.glance, ~, /etc/glance, /etc) adds its properties to the image schema.
function customImageProperties(cfg: GlanceConfig): Record<string, JsonObject> {
  const dirs = [path.dirname(cfg.source), path.join(homedir(), '.glance'), homedir(), '/etc/glance', '/etc'];
  const file = dirs.map((dir) => path.join(dir, 'schema-image.json')).find((f) => existsSync(f));
  if (file === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError([`${file}: not valid JSON (${(err as Error).message})`]);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError([`${file}: must map property names to JSON schemas`]);
  }
  return parsed as Record<string, JsonObject>;
}

function domainConfig(cfg: GlanceConfig): DomainConfig {
  const d = cfg.DEFAULT;
  return {
    ...DEFAULT_DOMAIN_CONFIG,
    allowAdditionalImageProperties: d.allow_additional_image_properties,
    customImageProperties: customImageProperties(cfg),
    showMultipleLocations: d.show_multiple_locations,
    showImageDirectUrl: d.show_image_direct_url,
    enabledBackends: (d.enabled_backends ?? []).map((b) => b.name),
    limitParamDefault: d.limit_param_default,
    apiLimitMax: d.api_limit_max,
    imagePropertyQuota: d.image_property_quota,
    imageTagQuota: d.image_tag_quota,
    imageLocationQuota: d.image_location_quota,
    hashingAlgorithm: d.hashing_algorithm,
    enforceSecureRbac: d.enforce_secure_rbac,
  };
}

// JSON bodies are small documents; 1 MiB holds the largest legitimate PATCH with room to spare.
const JSON_BODY_LIMIT = 1024 * 1024;
// Node's parser limit for the request line plus all headers (upstream's eventlet allows 16 KiB per line).
const MAX_HEADER_BYTES = 32 * 1024;
// Idle sockets are dropped after upstream's client_socket_timeout default.
const SOCKET_IDLE_MS = 900_000;

async function databaseIsEmpty(pool: Pool): Promise<boolean> {
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()',
  );
  return Number(rows[0]?.n ?? 0) === 0;
}

/** Verifies (and with `create`, first creates) the schema; the pool is closed afterwards. */
async function prepareSchema(cfg: GlanceConfig, create: boolean, log: Logger): Promise<void> {
  const pool = createPool(cfg.database.connection, { connectionLimit: 1 });
  try {
    if (!create && (await databaseIsEmpty(pool))) {
      throw new SchemaVersionError(
        'The database is empty. Create the schema with `main.js db-sync --config-file …` (or start with ' +
          '--migrate), or point [database] connection at a database kept by upstream glance-manage db_sync.',
        [],
      );
    }
    const { action } = await migrate(pool);
    log.info({ action }, 'database schema checked');
  } finally {
    await pool.end();
  }
}

/** Everything derived from the configuration that can be wrong: resolved before any process serves. */
interface Settings {
  cfg: GlanceConfig;
  domain: DomainConfig;
  policy: Policy;
  stores: StoreLayout;
  cache: CacheSettings | null;
}

function resolveSettings(cfg: GlanceConfig): Settings {
  const domain = domainConfig(cfg);
  try {
    imageSchemaSpec(domain);
  } catch (err) {
    throw new ConfigError([`schema-image.json: ${(err as Error).message}`]);
  }
  return {
    cfg,
    domain,
    policy: createPolicy(cfg),
    stores: resolveStoreLayout(cfg),
    cache: cacheSettings(cfg),
  };
}

async function serve(
  { cfg, domain, policy, stores: layout, cache: cacheConfig }: Settings,
  opts: Options,
  log: Logger,
): Promise<void> {
  const {
    createApp,
    createAuthMiddleware,
    createQuotas,
    handlersInFlight,
    ImageCache,
    ImageRepository,
    MemberRepository,
    MetadefRepository,
    onClientError,
    Prefetcher,
    StoreRegistry,
  } = await import('./serving-modules.js');
  const pool = createPool(cfg.database.connection);
  const stores = new StoreRegistry(layout);
  const images = new ImageRepository(pool);
  const cache = cacheConfig ? new ImageCache(cacheConfig, log) : null;
  await cache?.dir.prepare();
  const prefetcher = cache ? new Prefetcher(cache, images, stores, log) : null;
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

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, inFlight: handlersInFlight.count }, 'shutting down: no new connections');
    server.close();
    const finished = await Promise.race([
      handlersInFlight.idle().then(() => true),
      sleep(opts.shutdownTimeoutMs).then(() => false),
    ]);
    if (!finished) {
      // Aborted uploads put their images back to queued and remove their data before the handlers end.
      log.warn({ inFlight: handlersInFlight.count }, 'shutdown timeout: closing the remaining connections');
      server.closeAllConnections();
      await Promise.race([handlersInFlight.idle(), sleep(10_000)]);
    }
    await prefetcher?.stop();
    await pool.end();
    await stores.close();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/** db-load-metadefs: exit status 1 when a file could not be loaded. */
async function loadMetadefsCommand(cfg: GlanceConfig, source: string, log: Logger): Promise<void> {
  const pool = createPool(cfg.database.connection, { connectionLimit: 1 });
  try {
    const report = await loadMetadefs(pool, source, log);
    log.info(
      { loaded: report.loaded.length, skipped: report.skipped.length, failed: report.failed.length },
      'metadata definitions loaded',
    );
    if (report.failed.length > 0) process.exitCode = 1;
  } finally {
    await pool.end();
  }
}

/** The primary process: forks `workers` children (upstream's process model) and restarts any that die. */
function supervise(workers: number, opts: Options, log: Logger): void {
  let stopping = false;
  const listening = new Set<number>();
  const fork = (): void => {
    cluster.fork();
  };
  cluster.on('listening', (worker) => listening.add(worker.id));
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit();
      return;
    }
    if (!listening.has(worker.id)) {
      // A worker that cannot even start (the port is taken, say) would fail the same way forever.
      log.fatal({ pid: worker.process.pid, code, signal }, 'a worker failed to start; stopping');
      stop('SIGTERM');
      process.exitCode = 1;
      return;
    }
    log.error({ pid: worker.process.pid, code, signal }, 'worker died; starting another');
    setTimeout(fork, 1000);
  });
  function stop(signal: NodeJS.Signals): void {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping workers');
    const remaining = Object.values(cluster.workers ?? {});
    if (remaining.length === 0) process.exit();
    for (const worker of remaining) worker?.process.kill('SIGTERM');
    // Workers bound their own shutdown; this is only a backstop against one that hangs.
    setTimeout(() => process.exit(1), opts.shutdownTimeoutMs + 20_000).unref();
  }
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  for (let i = 0; i < workers; i++) fork();
  log.info({ workers }, 'started workers');
}

async function main(): Promise<void> {
  // Asynchronous: a synchronous write(2) per access-log line was ~6% of the CPU of showing an image. pino flushes
  // what is pending when the process exits; a stdout nobody reads drops lines past 8 MiB instead of growing.
  const log = pino({ name: 'glance-api' }, pino.destination({ sync: false, maxLength: 8 * 1024 * 1024 }));
  let opts: Options;
  let settings: Settings;
  try {
    opts = parseOptions(process.argv.slice(2));
    settings = resolveSettings(loadConfig(opts.configFile));
  } catch (err) {
    if (
      err instanceof UsageError ||
      err instanceof ConfigError ||
      (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      process.stderr.write(`${(err as Error).message}\n${err instanceof ConfigError ? '' : USAGE}`);
      process.exit(2);
    }
    throw err;
  }

  const { cfg } = settings;
  if (cluster.isPrimary) {
    try {
      if (opts.command === 'db-sync') {
        await prepareSchema(cfg, true, log);
        return;
      }
      if (opts.command === 'db-load-metadefs') {
        await prepareSchema(cfg, false, log);
        await loadMetadefsCommand(cfg, opts.metadefsPath, log);
        return;
      }
      await prepareSchema(cfg, opts.migrate, log);
    } catch (err) {
      if (err instanceof SchemaVersionError) {
        process.stderr.write(`${err.message}\n`);
        process.exit(1);
      }
      throw err;
    }
    // workers = 0 serves from this process, as upstream does.
    if (cfg.DEFAULT.workers > 0) {
      supervise(cfg.DEFAULT.workers, opts, log);
      return;
    }
  }
  await serve(settings, opts, log.child({ worker: cluster.isPrimary ? 0 : cluster.worker?.id }));
}

main().catch((err: unknown) => {
  // Messages of our own errors never carry secrets; anything else is logged without its cause chain.
  process.stderr.write(`glance-api failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
