import { DataSource, QueryRunner } from 'typeorm';

/**
 * Runs `work` on a connection of its own whose running statement PostgreSQL cancels when
 * `signal` aborts (pg_cancel_backend), so a cancelled research or a shutting-down worker does
 * not wait for a slow or blocked query.
 */
export async function withCancellableConnection<T>(
  dataSource: DataSource,
  signal: AbortSignal | undefined,
  work: (runner: QueryRunner) => Promise<T>,
): Promise<T> {
  signal?.throwIfAborted();
  const runner = dataSource.createQueryRunner();
  const connection = (await runner.connect()) as { processID?: number | null };
  const cancel = () => {
    if (connection.processID) {
      dataSource.query('SELECT pg_cancel_backend($1)', [connection.processID]).catch(() => undefined);
    }
  };
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    return await work(runner);
  } finally {
    signal?.removeEventListener('abort', cancel);
    await runner.release();
  }
}
