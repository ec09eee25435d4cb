import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { GlanceServiceSpec } from '../api/glance-service-types.js';
import { notify, type ReconcileContext, type StepResult } from './context.js';

// The install guide's two accounts: 'localhost' for a co-located API, '%' for everything else.
const HOSTS = ['localhost', '%'] as const;

async function write(
  ctx: ReconcileContext,
  operation: string,
  sql: string,
  values: unknown[] = [],
): Promise<void> {
  ctx.metrics.writes.inc({ system: 'mysql', operation });
  await ctx.sessions.db.query(sql, values);
}

/** Whether SHOW GRANTS lists ALL PRIVILEGES on the whole database for this account. */
export function hasAllPrivileges(grants: string[], database: string, user: string, host: string): boolean {
  const on = `ON \`${database}\`.* TO \`${user}\`@\`${host}\``;
  return grants.some((g) => g.startsWith('GRANT ALL PRIVILEGES ') && g.includes(on));
}

async function showGrants(db: Connection, user: string, host: string): Promise<string[]> {
  const [rows] = await db.query<RowDataPacket[]>('SHOW GRANTS FOR ?@?', [user, host]);
  return rows.map((r) => String(Object.values(r)[0]));
}

/**
 * Step 1: the database, the user for 'localhost' and '%' with the current password, and ALL PRIVILEGES on
 * the database. Each piece is read first and written only when missing or different, so a converged
 * database sees only reads.
 */
export async function reconcileDatabase(ctx: ReconcileContext, password: string): Promise<StepResult> {
  const { db } = ctx.sessions;
  const { name, user } = ctx.spec.database;
  const database = db.escapeId(name);

  const [schemas] = await db.query<RowDataPacket[]>(
    'SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
    [name],
  );
  if (schemas.length === 0) {
    await write(ctx, 'create-database', `CREATE DATABASE IF NOT EXISTS ${database}`);
    await notify(ctx, 'DatabaseCreated', `Created database ${name}`);
  }

  const [[expected]] = await db.query<RowDataPacket[]>('SELECT PASSWORD(?) AS hash', [password]);
  for (const host of HOSTS) {
    const [accounts] = await db.query<RowDataPacket[]>(
      'SELECT authentication_string AS hash FROM mysql.user WHERE User = ? AND Host = ?',
      [user, host],
    );
    const account = accounts[0];
    if (!account) {
      await write(ctx, 'create-user', 'CREATE USER ?@? IDENTIFIED BY ?', [user, host, password]);
      await notify(ctx, 'DatabaseUserCreated', `Created database user '${user}'@'${host}'`);
    } else if (account.hash !== expected?.hash) {
      await write(ctx, 'alter-user', 'ALTER USER ?@? IDENTIFIED BY ?', [user, host, password]);
      await notify(ctx, 'DatabasePasswordChanged', `Set the password of database user '${user}'@'${host}'`);
    }
    if (!hasAllPrivileges(await showGrants(db, user, host), name, user, host)) {
      await write(ctx, 'grant', `GRANT ALL PRIVILEGES ON ${database}.* TO ?@?`, [user, host]);
      await notify(ctx, 'DatabaseGranted', `Granted ALL PRIVILEGES on ${name}.* to '${user}'@'${host}'`);
    }
  }
  return {
    status: 'True',
    reason: 'Provisioned',
    message: `Database ${name} and user ${user} (localhost, %) with ALL PRIVILEGES`,
  };
}

/** deletionPolicy Delete: the database and both accounts go. */
export async function deleteDatabase(ctx: ReconcileContext, spec: GlanceServiceSpec): Promise<void> {
  const { name, user } = spec.database;
  await write(ctx, 'drop-database', `DROP DATABASE IF EXISTS ${ctx.sessions.db.escapeId(name)}`);
  for (const host of HOSTS) await write(ctx, 'drop-user', 'DROP USER IF EXISTS ?@?', [user, host]);
  await notify(ctx, 'DatabaseDeleted', `Dropped database ${name} and user ${user} (deletionPolicy Delete)`);
}
