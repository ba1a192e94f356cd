export { AppConfig } from './app-config';
export type {
  AuditSettings,
  AuthSettings,
  BudgetLimits,
  LlmCircuitSettings,
  LlmSettings,
  LogLevel,
  ModelPrice,
  NodeEnv,
  RateLimitSettings,
  TrustProxy,
} from './app-config';
export { appConfig } from './app-config.provider';
export { ConfigModule } from './config.module';
export { ConfigError, loadConfig } from './load-config';
