import cluster from 'node:cluster';
import pino from 'pino';
import { ConfigError, loadConfig } from './config/index.js';
import { parseOptions, USAGE, UsageError, type Options } from './config/command-line.js';
import { loadMetadefsCommand, prepareSchema } from './composition/database.js';
import { resolveSettings, type Settings } from './composition/settings.js';
import { supervise } from './composition/supervise.js';
import { SchemaVersionError } from './db/migrate.js';

async function main(): Promise<void> {
  // Asynchronous: a synchronous write(2) per access-log line was ~6% of the CPU of showing an image. pino flushes
  // what is pending when the process exits; a stdout nobody reads drops lines past 8 MiB instead of growing.
  const log = pino({ name: 'glance-api' }, pino.destination({ sync: false, maxLength: 8 * 1024 * 1024 }));
  let opts: Options;
  let settings: Settings;
  try {
    opts = parseOptions(process.argv.slice(2));
    settings = resolveSettings(loadConfig(opts.configFile), log);
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
      supervise(cfg.DEFAULT.workers, opts.shutdownTimeoutMs, log);
      return;
    }
  }
  // Loaded only here: a cluster primary never needs the express application.
  const { serve } = await import('./composition/serve.js');
  await serve(
    settings,
    opts.shutdownTimeoutMs,
    log.child({ worker: cluster.isPrimary ? 0 : cluster.worker?.id }),
  );
}

main().catch((err: unknown) => {
  // Messages of our own errors never carry secrets; anything else is logged without its cause chain.
  process.stderr.write(`glance-api failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
