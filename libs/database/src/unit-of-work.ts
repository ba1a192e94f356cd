import { AsyncLocalStorage } from 'node:async_hooks';
import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, QueryRunner } from 'typeorm';

type AfterCommit = () => unknown;

interface Transaction {
  runner?: QueryRunner;
  /** Set on the first query: a unit that never queries never takes a connection. */
  begun?: Promise<EntityManager>;
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
 * - A unit opened inside another joins it: one transaction, committed by the outermost. When an
 *   inner unit fails, the outer one rolls back even if it catches the error, so that half of a
 *   failed change is never committed.
 * - `afterCommit` callbacks run once the transaction is committed (never after a rollback),
 *   outside it, before `run` resolves: side effects such as queueing a job happen only for what
 *   is stored, and only once it is visible to others.
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
  manager(): Promise<EntityManager> {
    const transaction = this.open();
    if (!transaction) return Promise.resolve(this.dataSource.manager);
    transaction.begun ??= this.begin(transaction);
    return transaction.begun;
  }

  async query<T = unknown>(sql: string, parameters?: unknown[]): Promise<T> {
    return (await this.manager()).query(sql, parameters) as Promise<T>;
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
    const transaction: Transaction = { afterCommit: [], finished: false };
    let result: T;
    try {
      result = await this.current.run(transaction, work);
      if (transaction.failure) throw transaction.failure.error;
      if (transaction.begun) {
        await transaction.begun;
        await transaction.runner?.commitTransaction();
      }
    } catch (error) {
      transaction.finished = true;
      await this.rollback(transaction);
      throw error;
    }
    transaction.finished = true;
    await transaction.runner?.release();
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

  private async begin(transaction: Transaction): Promise<EntityManager> {
    const runner = this.dataSource.createQueryRunner();
    transaction.runner = runner;
    await runner.startTransaction();
    return runner.manager;
  }

  private async rollback(transaction: Transaction): Promise<void> {
    const runner = transaction.runner;
    if (!runner) return;
    try {
      if (runner.isTransactionActive) await runner.rollbackTransaction();
      await runner.release();
    } catch (error) {
      this.logger.warn(`rollback failed: ${(error as Error).message}; the connection is discarded`);
      // Released with the error, the pool closes the connection instead of reusing it mid-transaction.
      await (runner as QueryRunner & { releasePostgresConnection?(error: unknown): Promise<void> })
        .releasePostgresConnection?.(error)
        .catch(() => undefined);
    }
  }
}
