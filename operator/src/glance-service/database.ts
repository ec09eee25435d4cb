import type { DatabaseAdmin } from './admin-clients.js';
import { notify, type CleanupContext, type ReconcileContext, type StepCondition } from './context.js';
import {
  claim,
  formatMark,
  markOf,
  parseMarkWithAttributes,
  type Claim,
  type OwnerMark,
} from './ownership.js';

// The install guide's two accounts: 'localhost' for a co-located API, '%' for everything else.
const HOSTS = ['localhost', '%'] as const;
const ADOPT_FIELD = 'spec.database.adopt';

/** An account as the database's comment lists it: `user@host` (neither part can hold '@' or ','). */
const entryOf = (user: string, host: string) => `${user}@${host}`;
function accountOf(entry: string): { user: string; host: string } {
  const at = entry.lastIndexOf('@');
  return { user: entry.slice(0, at), host: entry.slice(at + 1) };
}
const shown = (entry: string) => `'${accountOf(entry).user}'@'${accountOf(entry).host}'`;

/**
 * Whose the database is, as its comment says: the owner's mark, then `users=` the accounts that owner created
 * (or was about to create: the comment is written before CREATE USER, so a kill in between leaves no account of
 * ours unlisted). An account has no place of its own for a mark; the database it is made for holds it.
 */
export interface DatabaseMark {
  mark: OwnerMark;
  accounts: string[];
}

export function formatDatabaseComment(mark: OwnerMark, accounts: readonly string[]): string {
  return formatMark(mark, { users: accounts.join(',') });
}

export function parseDatabaseComment(comment: string | undefined): DatabaseMark | undefined {
  const parsed = parseMarkWithAttributes(comment);
  if (!parsed) return undefined;
  return { mark: parsed.mark, accounts: (parsed.attributes.users ?? '').split(',').filter(Boolean) };
}

/** Whether SHOW GRANTS lists ALL PRIVILEGES on the whole database for this account. */
export function hasAllPrivileges(grants: string[], database: string, user: string, host: string): boolean {
  const on = `ON \`${database}\`.* TO \`${user}\`@\`${host}\``;
  return grants.some((g) => g.startsWith('GRANT ALL PRIVILEGES ') && g.includes(on));
}

/** An account of the spec's user, and how it stands to this GlanceService ('new' when it does not exist). */
interface Account {
  host: (typeof HOSTS)[number];
  hash: string | undefined;
  standing: Claim | 'new';
}

/**
 * The comment this GlanceService writes on a database it owns: the spec's accounts that are not adopted, after
 * the accounts of a user the spec named earlier that it listed and that still exist (they are its to drop).
 */
async function wantedComment(
  db: DatabaseAdmin,
  me: OwnerMark,
  found: DatabaseMark | undefined,
  user: string,
  accounts: Account[],
): Promise<string> {
  const earlier: string[] = [];
  for (const entry of found?.accounts ?? []) {
    const a = accountOf(entry);
    if (a.user !== user && (await db.accountHash(a.user, a.host)) !== undefined) earlier.push(entry);
  }
  const ours = accounts.filter((a) => a.standing !== 'adopted').map((a) => entryOf(user, a.host));
  return formatDatabaseComment(me, [...earlier, ...ours]);
}

/**
 * Step 1: the database, the user for 'localhost' and '%' with the current password, and ALL PRIVILEGES on
 * the database. What exists already is used only if it is this GlanceService's (its mark in the database's
 * comment) or the spec adopts it; that is decided for the database and both accounts before anything is
 * written. Each piece is read first and written only when missing or different, so a converged database sees
 * only reads.
 */
export async function reconcileDatabase(ctx: ReconcileContext, password: string): Promise<StepCondition> {
  const { db } = ctx.sessions;
  const { name, user, adopt } = ctx.spec.database;
  const me = markOf(ctx.gs);

  const comment = await db.databaseComment(name);
  const found = parseDatabaseComment(comment);
  const database: Claim | 'new' =
    comment === undefined
      ? 'new'
      : claim(ctx.gs, found?.mark, adopt, `MariaDB database ${name}`, ADOPT_FIELD);
  const accounts: Account[] = [];
  for (const host of HOSTS) {
    const hash = await db.accountHash(user, host);
    const listed = found?.accounts.includes(entryOf(user, host)) ? found.mark : undefined;
    const standing =
      hash === undefined
        ? 'new'
        : claim(ctx.gs, listed, adopt, `MariaDB user '${user}'@'${host}'`, ADOPT_FIELD);
    accounts.push({ host, hash, standing });
  }

  // The comment of a database that is not ours is never written: accounts made in it stay unlisted.
  const owned = database !== 'adopted';
  if (owned) {
    const wanted = await wantedComment(db, me, found, user, accounts);
    if (database === 'new') {
      await db.createDatabase(name, wanted);
      await notify(ctx, 'DatabaseCreated', `Created database ${name}`);
    } else if (comment !== wanted) {
      await db.setDatabaseComment(name, wanted);
      if (database === 'take-back') {
        await notify(
          ctx,
          'DatabaseTakenBack',
          `Took back database ${name}, left by an earlier GlanceService ${found?.mark.owner} ` +
            `(uid ${found?.mark.uid}): marked as this one's`,
        );
      }
    }
  }

  const expected = await db.passwordHash(password);
  for (const { host, hash } of accounts) {
    if (hash === undefined) {
      await db.createUser(user, host, password);
      await notify(
        ctx,
        'DatabaseUserCreated',
        `Created database user '${user}'@'${host}'` +
          (owned ? '' : ` in adopted database ${name}: it is never dropped`),
      );
    } else if (hash !== expected) {
      await db.setPassword(user, host, password);
      await notify(ctx, 'DatabasePasswordChanged', `Set the password of database user '${user}'@'${host}'`);
    }
    if (!hasAllPrivileges(await db.grants(user, host), name, user, host)) {
      await db.grantAll(name, user, host);
      await notify(ctx, 'DatabaseGranted', `Granted ALL PRIVILEGES on ${name}.* to '${user}'@'${host}'`);
    }
  }

  const message = `Database ${name} and user ${user} (localhost, %) with ALL PRIVILEGES`;
  const kept = owned
    ? accounts.filter((a) => a.standing === 'adopted').map((a) => `user '${user}'@'${a.host}'`)
    : [`database ${name}`, `user ${user} (localhost, %)`];
  // The condition's reason changing to Adopted is what records the adoption's Event.
  return kept.length
    ? { status: 'True', reason: 'Adopted', message: `${message}; adopted, never deleted: ${kept.join(', ')}` }
    : { status: 'True', reason: 'Provisioned', message };
}

/**
 * deletionPolicy Delete: the accounts the database's comment lists, then the database, only when it carries
 * this GlanceService's mark. Users go first, so that a kill in between leaves the comment to finish with.
 */
export async function deleteDatabase(ctx: CleanupContext, db: DatabaseAdmin): Promise<void> {
  const { name, user } = ctx.spec.database;
  const comment = await db.databaseComment(name);
  if (comment === undefined) {
    // Its comment went with it: nothing says whose the accounts are.
    const left: string[] = [];
    for (const host of HOSTS) {
      if ((await db.accountHash(user, host)) !== undefined) left.push(entryOf(user, host));
    }
    if (left.length) {
      await notify(
        ctx,
        'DatabaseLeft',
        `Database ${name} is gone; left user(s) ${left.map(shown).join(', ')}: nothing marks them as ` +
          "this GlanceService's",
      );
    }
    return;
  }
  const found = parseDatabaseComment(comment);
  if (found?.mark.uid !== markOf(ctx.gs).uid) {
    await notify(
      ctx,
      'DatabaseLeft',
      `Left database ${name} and its users: not created by this GlanceService ` +
        (found ? `(marked by GlanceService ${found.mark.owner}, uid ${found.mark.uid})` : '(adopted)'),
    );
    return;
  }
  for (const entry of found.accounts) {
    const a = accountOf(entry);
    await db.dropUser(a.user, a.host);
  }
  await db.dropDatabase(name);
  const left: string[] = [];
  for (const host of HOSTS) {
    const entry = entryOf(user, host);
    if (!found.accounts.includes(entry) && (await db.accountHash(user, host)) !== undefined) left.push(entry);
  }
  const users = found.accounts.length ? ` and user(s) ${found.accounts.map(shown).join(', ')}` : '';
  await notify(
    ctx,
    'DatabaseDeleted',
    `Dropped database ${name}${users} (deletionPolicy Delete)` +
      (left.length ? `; left adopted user(s) ${left.map(shown).join(', ')}` : ''),
  );
}
