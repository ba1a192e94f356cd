import { AppConfig } from '@app/config';
import { Params } from 'nestjs-pino';
import pino from 'pino';

/** Paths that probes and scrapers hit every few seconds: logged at debug only. */
export const QUIET_PATHS: ReadonlySet<string> = new Set(['/health', '/ready', '/metrics']);

const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
  'authorization',
  'cookie',
  'apiKey',
  'api_key',
  'password',
  '*.authorization',
  '*.apiKey',
  '*.api_key',
  '*.llmApiKey',
  '*.password',
  '*.token',
];

/**
 * One logger configuration for every process: one JSON object a line on stdout with
 * `timestamp`, `level`, `logger`, `message`, `request_id` and `service`, secrets redacted.
 */
export function loggerParams(config: AppConfig, service: 'api' | 'worker' | 'cli'): Params {
  return {
    renameContext: 'logger',
    // Requests are logged by Fastify hooks (installRequestLogging), not by a Nest middleware.
    forRoutes: [],
    pinoHttp: {
      level: config.logLevel,
      messageKey: 'message',
      errorKey: 'err',
      base: { service },
      timestamp: () => `,"timestamp":"${new Date().toISOString()}"`,
      formatters: {
        level: (label: string) => ({ level: label.toUpperCase() }),
        // `logger` names the component that wrote the line, or the process when there is none.
        log: (object: Record<string, unknown>) => (object.logger ? object : { ...object, logger: service }),
      },
      redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
      serializers: { err: pino.stdSerializers.err },
    },
  };
}
