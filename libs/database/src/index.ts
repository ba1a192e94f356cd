export { DatabaseModule } from './database.module';
export { databaseOptions } from './database-options';
export { isProgramLimitExceeded, isUniqueViolation } from './postgres-errors';
export { DatabaseReadinessCheck } from './database.readiness-check';
export { ensureDatabase } from './ensure-database';
export { withCancellableConnection } from './cancellable';
export { poolQuery } from './pool-query';
export { UnitOfWork } from './unit-of-work';
export { MIGRATIONS } from './migrations';
