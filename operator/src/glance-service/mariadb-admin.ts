import mysql, { type Connection, type RowDataPacket } from 'mysql2/promise';
import type { DatabaseAdmin } from './admin-clients.js';

/** DatabaseAdmin over one mysql2 connection; every statement that changes something goes through `onWrite`. */
export class MariaDbAdmin implements DatabaseAdmin {
  private constructor(
    private readonly db: Connection,
    private readonly onWrite: (operation: string) => void,
  ) {}

  static async connect(
    target: { host: string; port: number; user: string; password: string },
    onWrite: (operation: string) => void,
  ): Promise<MariaDbAdmin> {
    return new MariaDbAdmin(await mysql.createConnection({ ...target, connectTimeout: 10_000 }), onWrite);
  }

  private async write(operation: string, sql: string, values: unknown[] = []): Promise<void> {
    this.onWrite(operation);
    await this.db.query(sql, values);
  }

  async databaseComment(name: string): Promise<string | undefined> {
    // SCHEMA_COMMENT exists from MariaDB 10.5 on.
    const [rows] = await this.db.query<RowDataPacket[]>(
      'SELECT SCHEMA_COMMENT AS comment FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
      [name],
    );
    return rows[0] ? String(rows[0].comment ?? '') : undefined;
  }

  createDatabase(name: string, comment: string): Promise<void> {
    // Without IF NOT EXISTS: a database someone made since it was looked for must not pass as ours.
    return this.write('create-database', `CREATE DATABASE ${this.db.escapeId(name)} COMMENT ?`, [comment]);
  }

  setDatabaseComment(name: string, comment: string): Promise<void> {
    return this.write('alter-database', `ALTER DATABASE ${this.db.escapeId(name)} COMMENT ?`, [comment]);
  }

  dropDatabase(name: string): Promise<void> {
    return this.write('drop-database', `DROP DATABASE IF EXISTS ${this.db.escapeId(name)}`);
  }

  async passwordHash(password: string): Promise<string> {
    const [[row]] = await this.db.query<RowDataPacket[]>('SELECT PASSWORD(?) AS hash', [password]);
    return String(row?.hash);
  }

  async accountHash(user: string, host: string): Promise<string | undefined> {
    const [rows] = await this.db.query<RowDataPacket[]>(
      'SELECT authentication_string AS hash FROM mysql.user WHERE User = ? AND Host = ?',
      [user, host],
    );
    return rows[0] ? String(rows[0].hash) : undefined;
  }

  createUser(user: string, host: string, password: string): Promise<void> {
    return this.write('create-user', 'CREATE USER ?@? IDENTIFIED BY ?', [user, host, password]);
  }

  setPassword(user: string, host: string, password: string): Promise<void> {
    return this.write('alter-user', 'ALTER USER ?@? IDENTIFIED BY ?', [user, host, password]);
  }

  dropUser(user: string, host: string): Promise<void> {
    return this.write('drop-user', 'DROP USER IF EXISTS ?@?', [user, host]);
  }

  async grants(user: string, host: string): Promise<string[]> {
    const [rows] = await this.db.query<RowDataPacket[]>('SHOW GRANTS FOR ?@?', [user, host]);
    return rows.map((r) => String(Object.values(r)[0]));
  }

  grantAll(database: string, user: string, host: string): Promise<void> {
    return this.write('grant', `GRANT ALL PRIVILEGES ON ${this.db.escapeId(database)}.* TO ?@?`, [
      user,
      host,
    ]);
  }

  async close(): Promise<void> {
    await this.db.end();
  }
}
