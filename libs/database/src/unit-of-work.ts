import { AsyncLocalStorage } from 'node:async_hooks';
import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { PoolClient, QueryResult } from 'pg';
import { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { pgPoolOf } from './pool-query';
import { Statement, mustDiscard, runBatch } from './statement-batch';

type AfterCommit = () => unknown;

const BEGIN: Statement = { text: 'BEGIN' };

interface Transaction {
  /** Set on the first query: a unit that never queries never takes a connection. */
  begun?: Promise<PoolClient>;
  client?: PoolClient;
  /** Whether BEGIN is sent: it goes with the unit's first statement, in the same round trip. */
  started: boolean;
  /** Writes no one waits for the answer of (`defer`): sent with the next statement or the COMMIT. */
  deferred: Statement[];
  /** Set when the connection broke while the unit held it: it is closed rather than reused. */
  connectionError?: Error;
  onConnectionError?: (error: Error) => void;
  /** TypeORM's view of the transaction's connection, made when a repository asks for one. */
  manager?: EntityManager;
  afterCommit: AfterCommit[];
  /** The first error of a unit joined to this one: the whole transaction is lost with it. */
  failure?: { error: unknown };
  finished: boolean;
}

/**
 * One database transaction around a piece of work, which the repositories it calls join without
 * being handed a manager: they ask the unit for `manager()` (or `query()`), which is the open
 * transaction's, or the data source's outside one.
 *
 * - The transaction begins at the first query, so work before it (parsing, text processing)
 *   holds no connection.
 * - BEGIN travels with the first statement, and the writes whose answers no one waits for
 *   (`defer`) with the next statement or the COMMIT: one round trip each, not one per statement
 *   (`runBatch`). A change and its audit record commit in two round trips.
 * - A unit opened inside another joins it: one transaction, committed by the outermost. When an
 *   inner unit fails, the outer one rolls back even if it catches the error, so that half of a
 *   failed change is never committed.
 * - `afterCommit` callbacks run once the transaction is committed (never after a rollback),
 *   outside it, before `run` resolves: side effects such as queueing a job happen only for what
 *   is stored, and only once it is visible to others.
 *
 * The transaction runs on a connection taken from the pg pool TypeORM opened, with no query runner
 * in between (its events and its wrappers around each statement; `bench/unit-of-work.mjs`
 * compares the two). `query` answers rows, as pg does, and pg's errors (which `isUniqueViolation`
 * and `isUnavailableError` recognise); with a `name` it prepares the statement. A
 * repository that asks for `manager()` gets TypeORM's manager on the same connection, told that
 * the transaction is open, so that it never begins or commits one of its own.
 */
@Injectable()
export class UnitOfWork {
  private readonly logger = new Logger('UnitOfWork');
  private readonly current = new AsyncLocalStorage<Transaction>();

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Whether the caller runs inside an open unit. */
  get active(): boolean {
    return this.open() !== undefined;
  }

  /** The manager to query with: the open unit's transaction (begun now if need be), else the data source's. */
  async manager(): Promise<EntityManager> {
    const transaction = this.open();
    if (!transaction) return this.dataSource.manager;
    const client = await this.connection(transaction);
    // TypeORM writes to the connection itself: the transaction must be open, and what was
    // deferred written before its statements.
    if (!transaction.started || transaction.deferred.length > 0) await this.send(transaction, client, []);
    transaction.manager ??= this.managerOn(client);
    return transaction.manager;
  }

  /**
   * One statement in the open unit's transaction (begun now if need be), else on its own; its rows.
   * With a `name`, a statement of a hot path is prepared once per connection under it, and
   * PostgreSQL no longer parses and plans it each time; a name stands for one SQL text only.
   * Write UPDATE and DELETE in a CTE (`WITH changed AS (UPDATE ... RETURNING ...) SELECT ...`):
   * outside a unit TypeORM answers a bare one with `[rows, count]`.
   */
  async query<T = unknown>(sql: string, parameters?: unknown[], name?: string): Promise<T> {
    const transaction = this.open();
    if (!transaction) return this.dataSource.query(sql, parameters) as Promise<T>;
    const client = await this.connection(transaction);
    const results = await this.send(transaction, client, [{ text: sql, values: parameters, name }]);
    return results[results.length - 1]!.rows as T;
  }

  /**
   * A write whose answer no one waits for, such as the audit record of a change: in an open unit
   * it is sent with the unit's next statement or with its COMMIT, in the same round trip, and if
   * it fails, the unit fails and rolls back. Outside a unit it is run at once. Statements that
   * TypeORM's manager sends may go before it; nothing in the unit reads what it writes.
   */
  async defer(sql: string, parameters: unknown[], name?: string): Promise<void> {
    const transaction = this.open();
    if (!transaction) {
      await this.dataSource.query(sql, parameters);
      return;
    }
    transaction.deferred.push({ text: sql, values: parameters, name });
  }

  /** Runs `work` in a transaction, or in the open one. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    const outer = this.open();
    if (outer) {
      try {
        return await work();
      } catch (error) {
        outer.failure ??= { error };
        throw error;
      }
    }
    const transaction: Transaction = { afterCommit: [], finished: false, started: false, deferred: [] };
    let result: T;
    try {
      result = await this.current.run(transaction, work);
      if (transaction.failure) throw transaction.failure.error;
      if (transaction.begun || transaction.deferred.length > 0) {
        const client = await (transaction.begun ??= this.connect(transaction));
        const results = await this.send(transaction, client, [{ text: 'COMMIT' }]);
        // PostgreSQL answers the COMMIT of a failed transaction with ROLLBACK, and no error.
        if (results[results.length - 1]!.command !== 'COMMIT') throw new Error('the transaction was rolled back');
      }
    } catch (error) {
      transaction.finished = true;
      await this.rollback(transaction);
      throw error;
    }
    transaction.finished = true;
    this.release(transaction);
    for (const callback of transaction.afterCommit) {
      try {
        await callback();
      } catch (error) {
        // The change is committed: a failed side effect must not turn it into an error.
        this.logger.error({ err: error }, 'an after-commit callback failed');
      }
    }
    return result;
  }

  /**
   * Runs `callback` once the open unit has committed; never if it rolls back. Outside a unit
   * there is nothing to wait for: a programming error, not a side effect to lose silently.
   */
  afterCommit(callback: AfterCommit): void {
    const transaction = this.open();
    if (!transaction) throw new Error('afterCommit needs an open unit of work');
    transaction.afterCommit.push(callback);
  }

  private open(): Transaction | undefined {
    const transaction = this.current.getStore();
    return transaction && !transaction.finished ? transaction : undefined;
  }

  /**
   * The unit's connection, taken at its first statement. The unit may end while a statement waits
   * for it (another statement of the same unit failed meanwhile): that statement is then not sent,
   * neither on a connection back in the pool nor outside the transaction.
   */
  private async connection(transaction: Transaction): Promise<PoolClient> {
    const client = await (transaction.begun ??= this.connect(transaction));
    if (transaction.finished) throw new Error('the unit of work ended before this statement was sent');
    return client;
  }

  private async connect(transaction: Transaction): Promise<PoolClient> {
    const client = await pgPoolOf(this.dataSource).connect();
    transaction.client = client;
    // A connection that breaks while it is checked out emits 'error', which would otherwise end
    // the process; the statement waiting on it fails on its own.
    client.on('error', (transaction.onConnectionError = (error: Error) => (transaction.connectionError = error)));
    return client;
  }

  /**
   * Sends `statements` in one round trip, behind BEGIN when the transaction is not begun yet and
   * behind the deferred writes; answers the results of all of them, in order.
   */
  private async send(transaction: Transaction, client: PoolClient, statements: Statement[]): Promise<QueryResult[]> {
    const batch = [...(transaction.started ? [] : [BEGIN]), ...transaction.deferred, ...statements];
    transaction.started = true;
    transaction.deferred = [];
    if (batch.length === 1) {
      const [{ text, values, name }] = batch as [Statement];
      return [
        await client.query(name ? { name, text, values: values as unknown[] } : { text, values: values as unknown[] }),
      ];
    }
    return runBatch(client, batch);
  }

  private release(transaction: Transaction, error?: Error): void {
    const client = transaction.client;
    if (!client) return;
    client.removeListener('error', transaction.onConnectionError!);
    // Released with an error, the pool closes the connection instead of reusing it.
    const unfit = mustDiscard(client) ? new Error('a failed batch left its prepared statements unknown') : undefined;
    client.release(error ?? transaction.connectionError ?? unfit);
  }

  /** TypeORM's manager on the transaction's connection, which it must neither begin, commit nor release. */
  private managerOn(client: PoolClient): EntityManager {
    const runner = this.dataSource.createQueryRunner();
    // As if it had begun the transaction itself: a transaction of its own inside becomes a savepoint.
    Object.assign(runner as QueryRunner & { databaseConnection: PoolClient; transactionDepth: number }, {
      databaseConnection: client,
      isTransactionActive: true,
      transactionDepth: 1,
    });
    return runner.manager;
  }

  private async rollback(transaction: Transaction): Promise<void> {
    const client = transaction.client;
    if (!client) {
      // A connection still on its way carries nothing of the unit: it goes back once it arrives.
      transaction.begun?.then(
        () => this.release(transaction),
        () => undefined,
      );
      return;
    }
    try {
      // Nothing sent, nothing to undo.
      if (transaction.started) await client.query('ROLLBACK');
      this.release(transaction);
    } catch (error) {
      this.logger.warn(`rollback failed: ${(error as Error).message}; the connection is discarded`);
      this.release(transaction, error as Error);
    }
  }
}
