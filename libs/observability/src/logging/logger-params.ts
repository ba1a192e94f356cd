import { IncomingMessage, ServerResponse } from 'node:http';
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

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** The request's own access-log fields, in the seed's format. */
function requestFields(req: IncomingMessage, res: ServerResponse, responseTimeMs: number) {
  return {
    method: req.method,
    path: pathOf(req),
    status_code: res.statusCode,
    duration: responseTimeMs / 1000,
  };
}

/**
 * One logger configuration for every process: one JSON object a line on stdout with
 * `timestamp`, `level`, `logger`, `message`, `request_id` and `service`, secrets redacted.
 */
export function loggerParams(config: AppConfig, service: 'api' | 'worker' | 'cli'): Params {
  return {
    renameContext: 'logger',
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
      customAttributeKeys: { reqId: 'request_id' },
      quietReqLogger: true,
      quietResLogger: true,
      customLogLevel: (req: IncomingMessage, res: ServerResponse, error?: Error) => {
        if (error || res.statusCode >= 500) return 'error';
        if (QUIET_PATHS.has(pathOf(req))) return 'debug';
        return res.statusCode >= 400 ? 'warn' : 'info';
      },
      customSuccessMessage: () => 'request completed',
      customErrorMessage: () => 'request failed',
      customSuccessObject: (req: IncomingMessage, res: ServerResponse, value: { responseTime: number }) =>
        requestFields(req, res, value.responseTime),
      customErrorObject: (
        req: IncomingMessage,
        res: ServerResponse,
        error: Error,
        value: { responseTime: number },
      ) => ({
        ...requestFields(req, res, value.responseTime),
        err: error,
      }),
    },
  };
}
