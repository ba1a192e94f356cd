export { AppConfig } from './app-config';
export type {
  AuditSettings,
  FetchSettings,
  WebhookSettings,
  PassageSettings,
  SearchProviderName,
  SearchSettings,
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
export { ConfigError, DEFAULT_USER_AGENT, SEARCH_PROVIDER_NAMES, loadConfig, variablesRead } from './load-config';
export type { SettingRead } from './load-config';
