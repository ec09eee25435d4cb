import type { DatabaseAdmin } from './admin-clients.js';
import { notify, type CleanupContext, type ReconcileContext, type StepCondition } from './context.js';

// The install guide's two accounts: 'localhost' for a co-located API, '%' for everything else.
const HOSTS = ['localhost', '%'] as const;

/** Whether SHOW GRANTS lists ALL PRIVILEGES on the whole database for this account. */
export function hasAllPrivileges(grants: string[], database: string, user: string, host: string): boolean {
  const on = `ON \`${database}\`.* TO \`${user}\`@\`${host}\``;
  return grants.some((g) => g.startsWith('GRANT ALL PRIVILEGES ') && g.includes(on));
}

/**
 * Step 1: the database, the user for 'localhost' and '%' with the current password, and ALL PRIVILEGES on
 * the database. Each piece is read first and written only when missing or different, so a converged
 * database sees only reads.
 */
export async function reconcileDatabase(ctx: ReconcileContext, password: string): Promise<StepCondition> {
  const { db } = ctx.sessions;
  const { name, user } = ctx.spec.database;

  if (!(await db.databaseExists(name))) {
    await db.createDatabase(name);
    await notify(ctx, 'DatabaseCreated', `Created database ${name}`);
  }

  const expected = await db.passwordHash(password);
  for (const host of HOSTS) {
    const hash = await db.accountHash(user, host);
    if (hash === undefined) {
      await db.createUser(user, host, password);
      await notify(ctx, 'DatabaseUserCreated', `Created database user '${user}'@'${host}'`);
    } else if (hash !== expected) {
      await db.setPassword(user, host, password);
      await notify(ctx, 'DatabasePasswordChanged', `Set the password of database user '${user}'@'${host}'`);
    }
    if (!hasAllPrivileges(await db.grants(user, host), name, user, host)) {
      await db.grantAll(name, user, host);
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
export async function deleteDatabase(ctx: CleanupContext, db: DatabaseAdmin): Promise<void> {
  const { name, user } = ctx.spec.database;
  await db.dropDatabase(name);
  for (const host of HOSTS) await db.dropUser(user, host);
  await notify(ctx, 'DatabaseDeleted', `Dropped database ${name} and user ${user} (deletionPolicy Delete)`);
}
