import { AppConfig } from '@app/config';
import { DataSourceOptions } from 'typeorm';
import { GuardedClient } from './guarded-client';
import { MIGRATIONS } from './migrations';

/** Connection options shared by the apps, the CLI and the tests. */
export function databaseOptions(config: AppConfig): DataSourceOptions {
  return {
    type: 'postgres',
    url: config.databaseUrl,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: false,
    extra: {
      max: config.dbPoolSize,
      idleTimeoutMillis: config.dbPoolIdleTimeoutMs,
      statement_timeout: config.dbStatementTimeoutMs,
      connectionTimeoutMillis: 5000,
      application_name: 'deep-research',
      Client: GuardedClient,
    },
  };
}
