import { parseArgs } from 'node:util';

/** Where Debian's glance-common installs upstream's metadata definition files. */
export const DEFAULT_METADEFS_DIR = '/etc/glance/metadefs/';

export const USAGE = `usage: main.js [db-sync | db-load-metadefs [PATH]] --config-file PATH [--migrate] [--shutdown-timeout SECONDS]

  (no command)      check the database schema, then serve the Image API with [DEFAULT] workers processes
  db-sync           create the schema in an empty database (like glance-manage db_sync) and exit
  db-load-metadefs  load the metadata definition files of PATH (default ${DEFAULT_METADEFS_DIR}), skipping
                    namespaces already in the database (like glance-manage db_load_metadefs), and exit
  --migrate     create the schema first when the database is empty, then serve
`;

/** A bad command line: exit status 2, with the usage. */
export class UsageError extends Error {}

/** What the command line asks for. */
export interface Options {
  command: 'serve' | 'db-sync' | 'db-load-metadefs';
  /** db-load-metadefs: the definitions directory (or file). */
  metadefsPath: string;
  configFile: string;
  migrate: boolean;
  shutdownTimeoutMs: number;
}

/** The command and options of `argv` (without node and the script); --help prints the usage and exits. */
export function parseOptions(argv: string[]): Options {
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
