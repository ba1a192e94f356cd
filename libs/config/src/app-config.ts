export type NodeEnv = 'development' | 'production' | 'test';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** The whole configuration, typed and validated once at start-up. Also the DI token. */
export class AppConfig {
  readonly nodeEnv: NodeEnv;
  readonly host: string;
  readonly port: number;
  readonly workerPort: number;
  readonly databaseUrl: string;
  readonly dbPoolSize: number;
  readonly dbStatementTimeoutMs: number;
  readonly redisUrl: string;
  readonly logLevel: LogLevel;
  readonly queuePrefix: string;
  readonly queueConcurrency: number;
  readonly queueLockMs: number;
  readonly researchAttempts: number;
  readonly researchBackoffMs: number;
  readonly researchLeaseMs: number;
  readonly reconcileIntervalMs: number;
  readonly reconcileGraceMs: number;
  readonly shutdownTimeoutMs: number;
  readonly shutdownReadyDelayMs: number;
  readonly httpBodyLimitBytes: number;
  readonly documentMaxBytes: number;
  readonly docsEnabled: boolean;
  readonly queueDashboardEnabled: boolean;
}
