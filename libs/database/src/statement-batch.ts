import * as pg from 'pg';
import type { PoolClient, QueryResult } from 'pg';

/** One statement of a batch: with a `name`, prepared once per connection (see `UnitOfWork.query`). */
export interface Statement {
  text: string;
  values?: readonly unknown[];
  name?: string;
}

/** The parts of node-postgres's connection a batch writes to and reads (`pg/lib/connection.js`). */
interface Connection {
  parsedStatements: Record<string, string>;
  submittedNamedStatements: Record<string, string>;
  parse(message: { text: string; name?: string }): void;
  bind(message: { statement?: string; values: unknown[] }): void;
  describe(message: { type: 'P'; name: string }): void;
  execute(message: object): void;
  sync(): void;
}

/** How pg turns a JavaScript value into a parameter (dates, buffers, arrays, JSON), as its own queries do. */
const { prepareValue } = (pg as unknown as { utils: { prepareValue(value: unknown): unknown } }).utils;

/**
 * Statements sent to PostgreSQL together and answered together: one write and one round trip
 * instead of one of each per statement. They share one Sync of the extended query protocol, so
 * when one fails PostgreSQL skips those behind it: a COMMIT behind a failed write never runs, and
 * if a BEGIN failed, the statement behind it never runs outside a transaction.
 *
 * node-postgres sends each query with a Sync of its own and waits for its answer before sending
 * the next. A batch is a `Query` that the client runs like any other (`Query.submit` corks the
 * socket around `prepare`), with one `Result` for each statement, in order.
 */
class StatementBatch extends pg.Query {
  /** Names this batch prepares: if it fails, which of them exist on the connection is unknown. */
  readonly preparing: string[] = [];
  callback?: (error: Error | null, results?: QueryResult | QueryResult[]) => void;
  private readonly statements: { text: string; values: unknown[]; name?: string }[];

  constructor(statements: readonly Statement[]) {
    super({ text: statements.map((statement) => statement.text).join(';\n'), queryMode: 'extended' } as pg.QueryConfig);
    // Mapped before anything is written: a value pg cannot send fails the call alone.
    this.statements = statements.map(({ text, values = [], name }) => ({
      text,
      name,
      values: values.map((value) => prepareValue(value)),
    }));
  }

  /** Whether a statement's name already stands for another text on this connection. */
  conflictOn(connection: Connection): string | undefined {
    return this.statements.find(({ text, name }) => {
      const known = name && (connection.parsedStatements[name] ?? connection.submittedNamedStatements[name]);
      return known && known !== text;
    })?.name;
  }

  prepare(connection: Connection): void {
    for (const { text, values, name } of this.statements) {
      if (!name || (connection.parsedStatements[name] ?? connection.submittedNamedStatements[name]) === undefined) {
        connection.parse({ text, name });
        if (name) {
          connection.submittedNamedStatements[name] = text;
          this.preparing.push(name);
        }
      }
      connection.bind({ statement: name, values });
      connection.describe({ type: 'P', name: '' });
      connection.execute({});
    }
    connection.sync();
  }
}

/** Connections a failed batch left unsure of their prepared statements: not to be reused. */
const unsure = new WeakSet<PoolClient>();

/**
 * Runs `statements` on `client` in one round trip and answers each one's result, in order; if one
 * fails, rejects with PostgreSQL's error (the statements behind it did not run).
 */
export function runBatch(client: PoolClient, statements: readonly Statement[]): Promise<QueryResult[]> {
  const batch = new StatementBatch(statements);
  const connection = (client as unknown as { connection: Connection }).connection;
  const conflict = batch.conflictOn(connection);
  if (conflict) return Promise.reject(new Error(`the statement name ${conflict} stands for another statement`));
  return new Promise((resolve, reject) => {
    batch.callback = (error, results) => {
      if (!error) {
        resolve(Array.isArray(results) ? results : [results as QueryResult]);
        return;
      }
      // A Parse that PostgreSQL skipped after the failure left no statement behind, one before
      // it did: the connection's record of its statements can no longer be trusted.
      if (batch.preparing.length > 0) {
        for (const name of batch.preparing) {
          delete connection.parsedStatements[name];
          delete connection.submittedNamedStatements[name];
        }
        unsure.add(client);
      }
      reject(error);
    };
    // The client answers through `callback`; what it returns is the batch itself.
    void client.query(batch as unknown as pg.QueryConfig);
  });
}

/** Whether a batch that failed on `client` left it unfit to go back to the pool. */
export function mustDiscard(client: PoolClient): boolean {
  return unsure.has(client);
}
