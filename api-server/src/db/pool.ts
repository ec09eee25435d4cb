import mysql from 'mysql2/promise';
import type { PoolConnection as CoreConnection } from 'mysql2';
import type { Pool, PoolConnection, PoolOptions } from 'mysql2/promise';
import { z } from 'zod';

/** The parts of an oslo.db `[database] connection` URL that reach the MySQL client. */
export interface ConnectionTarget {
  user: string;
  password: string;
  host: string | null;
  port: number;
  socketPath: string | null;
  database: string;
  connectTimeoutMs: number | null;
}

export interface CreatePoolOptions {
  /** Upper bound on open connections (oslo.db: max_pool_size + max_overflow). */
  connectionLimit?: number;
  /** Session sql_mode; oslo.db's `mysql_sql_mode` defaults to TRADITIONAL, null keeps the server's. */
  sqlMode?: string | null;
}

export class ConnectionUrlError extends Error {
  override readonly name = 'ConnectionUrlError';
}

const USAGE = 'expected mysql+pymysql://user:password@host[:port]/database[?charset=utf8]';

// SQLAlchemy's make_url grammar (sqlalchemy/engine/url.py), so every URL upstream accepts parses the same.
const RFC1738 =
  /^(?<scheme>[\w+]+):\/\/(?:(?<user>[^:/]*)(?::(?<password>[^@]*))?@)?(?:(?:\[(?<ipv6>[^/?]+)\]|(?<host>[^/:?]+))?(?::(?<port>[^/?]*))?)?(?:\/(?<database>[^?]*))?(?:\?(?<query>.*))?$/s;

// Upstream's tables are utf8 (utf8mb3); a utf8mb4 session reads and writes them unchanged and lets the
// server, not the client, reject characters the columns cannot hold.
const UTF8_CHARSETS = ['utf8', 'utf8mb3', 'utf8mb4'] as const;

const querySchema = z
  .object({
    charset: z
      .enum(UTF8_CHARSETS, { error: `charset must be one of ${UTF8_CHARSETS.join(', ')}` })
      .optional(),
    unix_socket: z
      .string({ error: 'unix_socket must be given once' })
      .min(1, 'unix_socket is empty')
      .optional(),
    connect_timeout: z
      .string({ error: 'connect_timeout must be given once' })
      .regex(/^[1-9]\d{0,5}$/, 'connect_timeout must be a whole number of seconds')
      .optional(),
    // SQLAlchemy engine plugins (devstack's dbcounter) mean nothing to this server.
    plugin: z.union([z.string(), z.array(z.string())]).optional(),
  })
  .strict();

const portSchema = z
  .string()
  .regex(/^\d{1,5}$/, 'port must be a number')
  .transform(Number)
  .refine((p) => p >= 1 && p <= 65535, 'port must be between 1 and 65535');

// Host names and IPv4 literals; anything else (an '@' above all) means the URL was split in the wrong place.
const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const IPV6 = /^[0-9A-Fa-f:.]+(?:%[\w.-]+)?$/;

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new ConnectionUrlError(`database connection URL: ${what} has an invalid %-escape; ${USAGE}`);
  }
}

function parseQuery(query: string | undefined): z.infer<typeof querySchema> {
  const params: Record<string, string | string[]> = {};
  for (const pair of (query ?? '').split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decode((eq < 0 ? pair : pair.slice(0, eq)).replace(/\+/g, ' '), 'a query parameter');
    const value = decode((eq < 0 ? '' : pair.slice(eq + 1)).replace(/\+/g, ' '), `query parameter ${key}`);
    const prior = params[key];
    params[key] = prior === undefined ? value : ([] as string[]).concat(prior, value);
  }
  const parsed = querySchema.safeParse(params);
  if (!parsed.success) {
    // zod messages here name keys, never values, so nothing from the URL leaks into the error.
    const reasons = parsed.error.issues.map((i) =>
      i.code === 'unrecognized_keys' ? `unsupported query parameter(s) ${i.keys.join(', ')}` : i.message,
    );
    throw new ConnectionUrlError(`database connection URL: ${reasons.join('; ')}`);
  }
  return parsed.data;
}

/**
 * Parses a `[database] connection` URL the way oslo.db (SQLAlchemy) does. Errors describe what is wrong
 * without quoting the URL, which carries the password.
 */
export function parseConnectionUrl(url: string): ConnectionTarget {
  const m = RFC1738.exec(url.trim());
  if (!m?.groups) throw new ConnectionUrlError(`database connection URL is malformed; ${USAGE}`);
  const g = m.groups;
  const scheme = g.scheme ?? '';
  if (!/^(?:mysql|mariadb)(?:\+\w+)?$/.test(scheme)) {
    throw new ConnectionUrlError(`database connection URL: only MySQL/MariaDB URLs are supported; ${USAGE}`);
  }
  const query = parseQuery(g.query);
  const database = decode(g.database ?? '', 'the database name');
  if (database === '') throw new ConnectionUrlError(`database connection URL names no database; ${USAGE}`);

  const host = g.ipv6 ?? g.host ?? null;
  if (host !== null && !(g.ipv6 !== undefined ? IPV6 : HOSTNAME).test(host)) {
    throw new ConnectionUrlError(
      `database connection URL: the host is not a valid host name (an unescaped '@' or ':' in the ` +
        `password must be written %40 or %3A); ${USAGE}`,
    );
  }
  if (host === null && query.unix_socket === undefined) {
    throw new ConnectionUrlError(`database connection URL names neither a host nor a unix_socket; ${USAGE}`);
  }
  let port = 3306;
  if (g.port !== undefined && g.port !== '') {
    const parsed = portSchema.safeParse(g.port);
    if (!parsed.success) {
      throw new ConnectionUrlError(`database connection URL: ${parsed.error.issues[0]?.message}; ${USAGE}`);
    }
    port = parsed.data;
  }
  const user = decode(g.user ?? '', 'the user name');
  if (user === '') throw new ConnectionUrlError(`database connection URL names no user; ${USAGE}`);

  return {
    user,
    password: decode(g.password ?? '', 'the password'),
    host,
    port,
    socketPath: query.unix_socket ?? null,
    database,
    connectTimeoutMs: query.connect_timeout === undefined ? null : Number(query.connect_timeout) * 1000,
  };
}

/** mysql2 options for a connection URL: pure, so the mapping is testable without a server. */
export function poolOptions(url: string, opts: CreatePoolOptions = {}): PoolOptions {
  const t = parseConnectionUrl(url);
  return {
    user: t.user,
    password: t.password,
    database: t.database,
    // pymysql prefers unix_socket over host when both are given.
    ...(t.socketPath !== null ? { socketPath: t.socketPath } : { host: t.host ?? undefined, port: t.port }),
    ...(t.connectTimeoutMs !== null ? { connectTimeout: t.connectTimeoutMs } : {}),
    charset: 'UTF8MB4_GENERAL_CI',
    // Upstream stores naive UTC in DATETIME columns; reading them as UTC gives the right instants.
    timezone: 'Z',
    dateStrings: false,
    connectionLimit: opts.connectionLimit ?? 10,
    waitForConnections: true,
    enableKeepAlive: true,
    // mysql2 otherwise captures a stack trace on every query to decorate errors it may never raise: ~4% of the
    // CPU of showing an image. Our errors are found by their code and the request's log line, not the stack.
    trace: false,
  };
}

function initSession(conn: CoreConnection, sqlMode: string | null): void {
  const statements = ["SET SESSION time_zone = '+00:00'"];
  if (sqlMode !== null) statements.push(`SET SESSION sql_mode = ${mysql.escape(sqlMode)}`);
  for (const sql of statements) {
    // A connection whose session could not be set up must not serve queries with the server's defaults.
    conn.query(sql, (err) => {
      if (err) conn.destroy();
    });
  }
}

/**
 * A mysql2 pool for an oslo.db connection URL. Sessions run in UTC (NOW() agrees with the UTC datetimes
 * upstream writes) and, like oslo.db, with sql_mode TRADITIONAL unless told otherwise.
 */
export function createPool(connection: string, opts: CreatePoolOptions = {}): Pool {
  const pool = mysql.createPool(poolOptions(connection, opts));
  const sqlMode = opts.sqlMode === undefined ? 'TRADITIONAL' : opts.sqlMode;
  // mysql2 queues commands per connection, so these run before the query that asked for the connection.
  pool.pool.on('connection', (conn) => initSession(conn, sqlMode));
  return pool;
}

/** Runs `fn` on one connection of `pool` in a transaction: committed when it returns, rolled back when it throws. */
export async function transaction<T>(pool: Pool, fn: (conn: PoolConnection) => Promise<T>): Promise<T> {
  const conn = await pool.getConnection();
  try {
    await conn.beginTransaction();
    const result = await fn(conn);
    await conn.commit();
    return result;
  } catch (err) {
    await conn.rollback().catch(() => undefined);
    throw err;
  } finally {
    conn.release();
  }
}
