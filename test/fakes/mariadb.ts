import { createHash } from 'node:crypto';
import type { DatabaseAdmin } from '../../operator/src/glance-service/admin-clients.js';

/** MariaDB's PASSWORD(): mysql_native_password's double SHA-1, as mysql.user keeps it. */
export function nativePasswordHash(password: string): string {
  const once = createHash('sha1').update(password).digest();
  return `*${createHash('sha1').update(once).digest('hex').toUpperCase()}`;
}

/** An error as mysql2 raises it: the server's symbolic `code` is what callers look at. */
function sqlError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

interface Account {
  hash: string;
  /** Databases the account has ALL PRIVILEGES on. */
  all: Set<string>;
}

/**
 * An in-memory MariaDB server with databases, accounts ('user'@'host') and database-level grants. Statements
 * behave as MariaDB's: CREATE USER of an existing account fails (ER_CANNOT_USER), SHOW GRANTS for a missing
 * one fails (ER_NONEXISTING_GRANT), GRANT to a missing account fails (ER_PASSWORD_NO_MATCH), the IF (NOT)
 * EXISTS forms never fail, CREATE DATABASE of an existing one fails (ER_DB_CREATE_EXISTS), and DROP DATABASE leaves grants on it in place (DROP USER removes them). A wrong
 * admin password is ER_ACCESS_DENIED_ERROR. `writes` lists every statement that changed something.
 */
export class FakeMariaDb {
  readonly databases = new Set<string>();
  /** Database comments (SCHEMA_COMMENT); a database without one has none here. */
  readonly comments = new Map<string, string>();
  readonly accounts = new Map<string, Account>();
  readonly writes: string[] = [];
  /** While set, connecting fails as it does when nothing listens. */
  down = false;
  /** Sessions not closed yet. */
  open = 0;

  constructor(
    readonly host = 'mariadb.test',
    readonly port = 3306,
    readonly admin = { user: 'root', password: 'root-password' },
  ) {
    this.accounts.set(key(admin.user, '%'), { hash: nativePasswordHash(admin.password), all: new Set() });
  }

  account(user: string, host: string): Account | undefined {
    return this.accounts.get(key(user, host));
  }

  /** Whether `user` may log in from `host` with `password`. */
  accepts(user: string, host: string, password: string): boolean {
    return this.account(user, host)?.hash === nativePasswordHash(password);
  }

  /** The connector the reconciler uses. */
  async connect(target: {
    host: string;
    port: number;
    user: string;
    password: string;
  }): Promise<DatabaseAdmin> {
    if (this.down || target.host !== this.host || target.port !== this.port) {
      throw sqlError('ECONNREFUSED', `connect ECONNREFUSED ${target.host}:${target.port}`);
    }
    if (!this.accepts(target.user, '%', target.password)) {
      throw sqlError('ER_ACCESS_DENIED_ERROR', `Access denied for user '${target.user}'@'10.0.0.1'`);
    }
    this.open += 1;
    return new FakeMariaDbSession(this);
  }
}

const key = (user: string, host: string) => `${user}@${host}`;

class FakeMariaDbSession implements DatabaseAdmin {
  private closed = false;

  constructor(private readonly db: FakeMariaDb) {}

  private live(): void {
    if (this.closed)
      throw sqlError('ER_CONNECTION_CLOSED', "Can't add new command when connection is in closed state");
    if (this.db.down)
      throw sqlError('PROTOCOL_CONNECTION_LOST', 'Connection lost: The server closed the connection.');
  }

  private write(statement: string): void {
    this.live();
    this.db.writes.push(statement);
  }

  private existing(user: string, host: string, statement: string): Account {
    const account = this.db.account(user, host);
    if (!account) throw sqlError('ER_CANNOT_USER', `Operation ${statement} failed for '${user}'@'${host}'`);
    return account;
  }

  async databaseComment(name: string): Promise<string | undefined> {
    this.live();
    return this.db.databases.has(name) ? (this.db.comments.get(name) ?? '') : undefined;
  }

  async createDatabase(name: string, comment: string): Promise<void> {
    this.write(`CREATE DATABASE ${name}`);
    if (this.db.databases.has(name)) {
      throw sqlError('ER_DB_CREATE_EXISTS', `Can't create database '${name}'; database exists`);
    }
    this.db.databases.add(name);
    this.db.comments.set(name, comment);
  }

  async setDatabaseComment(name: string, comment: string): Promise<void> {
    this.write(`ALTER DATABASE ${name} COMMENT`);
    if (!this.db.databases.has(name)) {
      throw sqlError('ER_BAD_DB_ERROR', `Unknown database '${name}'`);
    }
    this.db.comments.set(name, comment);
  }

  async dropDatabase(name: string): Promise<void> {
    this.write(`DROP DATABASE IF EXISTS ${name}`);
    this.db.databases.delete(name);
    this.db.comments.delete(name);
  }

  async passwordHash(password: string): Promise<string> {
    this.live();
    return nativePasswordHash(password);
  }

  async accountHash(user: string, host: string): Promise<string | undefined> {
    this.live();
    return this.db.account(user, host)?.hash;
  }

  async createUser(user: string, host: string, password: string): Promise<void> {
    this.write(`CREATE USER ${user}@${host}`);
    if (this.db.account(user, host)) {
      throw sqlError('ER_CANNOT_USER', `Operation CREATE USER failed for '${user}'@'${host}'`);
    }
    this.db.accounts.set(key(user, host), { hash: nativePasswordHash(password), all: new Set() });
  }

  async setPassword(user: string, host: string, password: string): Promise<void> {
    this.write(`ALTER USER ${user}@${host}`);
    this.existing(user, host, 'ALTER USER').hash = nativePasswordHash(password);
  }

  async dropUser(user: string, host: string): Promise<void> {
    this.write(`DROP USER IF EXISTS ${user}@${host}`);
    this.db.accounts.delete(key(user, host));
  }

  async grants(user: string, host: string): Promise<string[]> {
    this.live();
    const account = this.db.account(user, host);
    if (!account) {
      throw sqlError(
        'ER_NONEXISTING_GRANT',
        `There is no such grant defined for user '${user}' on host '${host}'`,
      );
    }
    return [
      `GRANT USAGE ON *.* TO \`${user}\`@\`${host}\` IDENTIFIED BY PASSWORD '${account.hash}'`,
      ...[...account.all].map((d) => `GRANT ALL PRIVILEGES ON \`${d}\`.* TO \`${user}\`@\`${host}\``),
    ];
  }

  async grantAll(database: string, user: string, host: string): Promise<void> {
    this.write(`GRANT ALL PRIVILEGES ON ${database}.* TO ${user}@${host}`);
    const account = this.db.account(user, host);
    if (!account) {
      throw sqlError('ER_PASSWORD_NO_MATCH', "Can't find any matching row in the user table");
    }
    account.all.add(database);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.open -= 1;
  }
}
