import { randomBytes } from 'node:crypto';
import { Client, QueryResultRow } from 'pg';
import { runCli } from './app-process';

const SERVER_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';

/**
 * A database of its own for one test suite, migrated with the real CLI, dropped at the end.
 */
export class TestDatabase {
  private client: Client | undefined;

  private constructor(
    readonly name: string,
    readonly url: string,
    private readonly serverUrl: string,
  ) {}

  /**
   * `serverUrl` is the PostgreSQL server without a database name; the machine's by default.
   * Migrated with the built CLI unless `migrate` is false: integration specs that run before a
   * build migrate in process, or create the tables they need.
   */
  static async create(
    label: string,
    serverUrl = SERVER_URL,
    options: { migrate?: boolean } = {},
  ): Promise<TestDatabase> {
    const name = `research_test_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
    await withAdmin(serverUrl, (admin) => admin.query(`CREATE DATABASE "${name}"`));
    const database = new TestDatabase(name, `${serverUrl}/${name}`, serverUrl);
    if (options.migrate ?? true) {
      const migrated = await runCli(['migrate'], { DATABASE_URL: database.url });
      if (migrated.code !== 0) throw new Error(`migrations failed: ${migrated.stderr}`);
    }
    return database;
  }

  async query<R extends QueryResultRow = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<R[]> {
    return (await (await this.connection()).query<R>(sql, params)).rows;
  }

  /** A separate connection, for holding locks while the apps work. */
  async connect(): Promise<Client> {
    const client = new Client({ connectionString: this.url });
    await client.connect();
    return client;
  }

  /**
   * Takes an ACCESS EXCLUSIVE lock on a table in a transaction of its own: every query on it
   * waits until `release()`. Holds a research mid-run, or a request in flight.
   */
  async lockTable(table: string): Promise<{ release(): Promise<void> }> {
    const client = await this.connect();
    await client.query('BEGIN');
    await client.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        await client.query('COMMIT').catch(() => undefined);
        await client.end();
      },
    };
  }

  async drop(): Promise<void> {
    await this.client?.end();
    this.client = undefined;
    await withAdmin(this.serverUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS "${this.name}" WITH (FORCE)`));
  }

  private async connection(): Promise<Client> {
    if (this.client) return this.client;
    const client = new Client({ connectionString: this.url });
    // A server restarted under the tests ends the connection: the next query opens a new one.
    const forget = () => {
      if (this.client === client) this.client = undefined;
    };
    client.on('error', forget);
    client.on('end', forget);
    this.client = client;
    try {
      await client.connect();
    } catch (error) {
      forget();
      throw error;
    }
    return client;
  }
}

async function withAdmin<T>(serverUrl: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: `${serverUrl}/postgres` });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
