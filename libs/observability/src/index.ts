export { HealthModule } from './health/health.module';
export type { HealthOptions } from './health/health.module';
export { LifecycleState } from './health/lifecycle-state';
export { ReadinessCheck } from './health/readiness-check';
export { runWithLogContext } from './logging/log-context';
export { QUIET_PATHS, loggerParams } from './logging/logger-params';
export { LoggingModule } from './logging/logging.module';
export { installGracefulShutdown } from './health/graceful-shutdown';
export type { ShutdownPlan } from './health/graceful-shutdown';
