import type { Pool, QueryResultRow } from 'pg';
import { DataSource } from 'typeorm';

/**
 * Runs one statement on the pg pool TypeORM opened for `dataSource`, with no query runner around
 * it. For the hottest reads only: a query runner costs a handful of awaits and objects per
 * statement (taking its connection, its events, its result): a tenth to a fifth of the CPU of
 * `GET /api/v1/research/{id}` (docs/benchmarks.md). Errors are pg's own, not wrapped in
 * TypeORM's QueryFailedError; `isUnavailableError` recognises both. With a `name`, the statement is
 * prepared once per connection (see `UnitOfWork.query`).
 */
export async function poolQuery<R extends QueryResultRow>(
  dataSource: DataSource,
  text: string,
  values: unknown[],
  name?: string,
): Promise<R[]> {
  return (await pgPoolOf(dataSource).query<R>(name ? { name, text, values } : { text, values })).rows;
}

/** The pg pool TypeORM opened for `dataSource`. */
export function pgPoolOf(dataSource: DataSource): Pool {
  const pool = (dataSource.driver as unknown as { master?: Pool }).master;
  if (!pool) throw new Error('the data source has no PostgreSQL pool: it is not initialised');
  return pool;
}
