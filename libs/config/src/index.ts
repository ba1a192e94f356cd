export { AppConfig } from './app-config';
export type { LogLevel, NodeEnv } from './app-config';
export { appConfig } from './app-config.provider';
export { ConfigModule } from './config.module';
export { ConfigError, loadConfig } from './load-config';
